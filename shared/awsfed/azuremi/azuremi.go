// Package azuremi is the awsfed.TokenSource of a function running in Azure:
// a Microsoft Entra access token of the function's managed identity,
// issued for the Entra application the AWS IAM OIDC provider trusts (see
// the awsfed package comment for the AWS side). It is a package of its own
// so that functions of other clouds link awsfed without the Azure SDK.
//
// In main:
//
//	env, err := awsfed.FromEnv(os.Getenv)
//	cred, err := azidentity.NewManagedIdentityCredential(nil) // system-assigned
//	src, err := azuremi.New(cred, env.Audience)
//	cfg, err := awsfed.Config(awsfed.Options{Region: env.Region, RoleARN: env.RoleARN,
//		RoleSessionName: "driftwatch-azure-detector", TokenSource: src})
//
// On App Service and Azure Functions the credential reads IDENTITY_ENDPOINT
// and IDENTITY_HEADER, which the platform sets when a managed identity is
// enabled. For a user-assigned identity set
// ManagedIdentityCredentialOptions.ID; the AWS trust policy's :sub is then
// that identity's object (principal) id.
package azuremi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/driftwatch/driftwatch/shared/awsfed"
)

// Source gets managed identity tokens for one audience. It is safe for
// concurrent use.
type Source struct {
	cred     azcore.TokenCredential
	audience string
}

var _ awsfed.TokenSource = (*Source)(nil)

// New returns a source of tokens from cred (an
// azidentity.ManagedIdentityCredential in production) for audience, the
// application ID URI (or client id) of the Entra application the AWS side
// trusts: the token's aud claim, DRIFTWATCH_AWS_TOKEN_AUDIENCE.
func New(cred azcore.TokenCredential, audience string) (*Source, error) {
	if cred == nil {
		return nil, fmt.Errorf("%w: azuremi: nil credential", awsfed.ErrInvalidConfig)
	}
	if err := awsfed.CheckAudience("audience", audience); err != nil {
		return nil, err
	}
	return &Source{cred: cred, audience: audience}, nil
}

// Scope is the token scope Token asks for: the audience with "/.default",
// the Entra v2 form of "a token for this resource"; the managed identity
// endpoint receives the audience itself as its resource parameter.
func (s *Source) Scope() string { return s.audience + "/.default" }

// Token implements awsfed.TokenSource. The credential keeps its own token
// cache: a managed identity token lives for about a day and is renewed
// after half of it, so most refreshes of the AWS session are answered from
// that cache.
//
// An answer of the identity endpoint that a retry cannot change (400
// "identity not found" or an unknown resource, 401, 403, 404) is reported
// as not retryable (awsfed.IsRetryable).
func (s *Source) Token(ctx context.Context) (string, error) {
	tok, err := s.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{s.Scope()}})
	if err != nil {
		err = fmt.Errorf("azure managed identity token for %s: %w", s.audience, err)
		if permanentStatus(err) {
			return "", permanentError{err}
		}
		return "", err
	}
	return tok.Token, nil
}

// permanentStatus reports an authentication failure whose HTTP status says
// a retry will get the same answer.
func permanentStatus(err error) bool {
	var afe *azidentity.AuthenticationFailedError
	if !errors.As(err, &afe) || afe.RawResponse == nil {
		return false
	}
	switch afe.RawResponse.StatusCode {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return true
	}
	return false
}

// permanentError tells awsfed (and the AWS SDK's retryers) through the
// SDK's RetryableError convention that retrying will not help.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// RetryableError implements the AWS SDK's retryable-error interface.
func (permanentError) RetryableError() bool { return false }
