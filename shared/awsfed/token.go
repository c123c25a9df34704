package awsfed

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// TokenSource supplies the identity token (a JWT of an OIDC issuer the AWS
// account trusts) that STS AssumeRoleWithWebIdentity exchanges for
// credentials. Token is called once per refresh, with the refresh's
// context; it should return a token valid for at least a few minutes.
//
// A failure is retryable (IsRetryable) unless the error's chain has a
// RetryableError() bool method saying otherwise, the AWS SDK's convention.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// TokenFunc adapts a function to TokenSource.
type TokenFunc func(ctx context.Context) (string, error)

// Token implements TokenSource.
func (f TokenFunc) Token(ctx context.Context) (string, error) { return f(ctx) }

// TokenFile is a TokenSource that reads the token from a file at every
// refresh, as Kubernetes projected service account tokens (EKS IRSA's
// AWS_WEB_IDENTITY_TOKEN_FILE) work: the platform rewrites the file before
// the token expires. Surrounding white space (a trailing newline) is
// trimmed.
type TokenFile string

// Token implements TokenSource.
func (f TokenFile) Token(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	b, err := os.ReadFile(string(f))
	if err != nil {
		return "", fmt.Errorf("read token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("token file %s is empty", string(f))
	}
	return tok, nil
}
