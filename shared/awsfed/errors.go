package awsfed

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// ErrInvalidConfig marks invalid Options or environment (FromEnv): nothing
// was sent anywhere.
var ErrInvalidConfig = errors.New("awsfed: invalid configuration")

// ErrToken marks a refresh whose identity token could not be obtained: the
// TokenSource failed or returned an empty token, and STS was not called.
var ErrToken = errors.New("awsfed: no identity token")

// ErrRejected marks a refresh STS refused: the token is invalid or expired,
// or the role's trust policy does not admit it (InvalidIdentityToken,
// AccessDenied, IDPRejectedClaim, ExpiredTokenException, ...). The error
// names the token's iss, aud and sub, which the trust policy must match.
var ErrRejected = errors.New("awsfed: STS rejected the web identity")

// errEmptyToken is what a TokenSource returning "" without an error gets.
var errEmptyToken = errors.New("token source returned an empty token")

// IsRetryable reports whether a refresh that failed with err may succeed
// later: a token source that failed for a moment, STS throttling, STS or
// identity provider unavailability, an expired token (the next refresh asks
// for a new one). A token STS rejects, a trust policy that does not admit
// it and invalid configuration are not retryable. Errors that did not come
// from these credentials are not retryable.
func IsRetryable(err error) bool {
	var fe *fedError
	return errors.As(err, &fe) && fe.retryable
}

// fedError is a failed refresh. It carries the verdict of IsRetryable and
// offers it to the AWS SDK's retryers through RetryableError (the SDK's
// retry.RetryableError check), so that the client whose request needed the
// credentials retries exactly when IsRetryable says so.
type fedError struct {
	kind      error // ErrToken, ErrRejected or nil
	msg       string
	err       error
	retryable bool
}

func (e *fedError) Error() string { return e.msg + ": " + e.err.Error() }

func (e *fedError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}

// RetryableError implements the AWS SDK's retryable-error interface.
func (e *fedError) RetryableError() bool { return e.retryable }

// tokenError reports a token source failure. It is retryable unless the
// source's error says otherwise through RetryableError (the SDK's
// convention, which azuremi follows for answers that cannot change).
func tokenError(roleARN string, err error) error {
	retryable := retry.RetryableError{}.IsErrorRetryable(err) != aws.FalseTernary
	return &fedError{
		kind:      ErrToken,
		msg:       fmt.Sprintf("%s for role %s", ErrToken.Error(), roleARN),
		err:       err,
		retryable: retryable,
	}
}

// stsVerdicts classifies the documented AssumeRoleWithWebIdentity errors
// (and AccessDenied, which STS answers when the trust policy does not admit
// the token). rejected: STS refused this identity; retryable: a later
// refresh can succeed.
var stsVerdicts = map[string]struct{ rejected, retryable bool }{
	"InvalidIdentityToken":            {rejected: true},
	"AccessDenied":                    {rejected: true},
	"IDPRejectedClaim":                {rejected: true},
	"MalformedPolicyDocument":         {rejected: true},
	"PackedPolicyTooLarge":            {rejected: true},
	"RegionDisabledException":         {rejected: true},
	"JWTPayloadSizeExceededException": {rejected: true},
	"ValidationError":                 {rejected: true},
	// "Get a new identity token from the identity provider and then retry":
	// the next refresh asks the source again.
	"ExpiredTokenException": {rejected: true, retryable: true},
	// "Often a transient error caused by network conditions": STS could
	// not reach the issuer's keys.
	"IDPCommunicationError": {retryable: true},
}

// stsError classifies a failed AssumeRoleWithWebIdentity call. token is the
// token that was sent; its (unverified) claims go into a rejection's
// message, because the trust policy conditions are written against them
// and STS does not say which one failed.
func stsError(roleARN, token string, err error) error {
	fe := &fedError{msg: "awsfed: assume role " + roleARN + " with web identity", err: err}
	var ae smithy.APIError
	isAPI := errors.As(err, &ae)
	if v, ok := stsVerdicts[code(ae)]; isAPI && ok {
		fe.retryable = v.retryable
		if v.rejected {
			fe.kind = ErrRejected
		}
	} else {
		// The SDK's own classification (throttling codes, 5xx, broken
		// connections; never a cancelled request), then any server fault.
		fe.retryable = retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary ||
			isAPI && ae.ErrorFault() == smithy.FaultServer
		if isAPI && !fe.retryable {
			fe.kind = ErrRejected // another client fault: this request will not pass
		}
	}
	if fe.kind == ErrRejected {
		fe.msg = fmt.Sprintf("%s: role %s (%s; the role's trust policy conditions must match these)",
			ErrRejected.Error(), roleARN, tokenClaims(token).describe())
	}
	return fe
}

func code(ae smithy.APIError) string {
	if ae == nil {
		return ""
	}
	return ae.ErrorCode()
}

// joinErrors returns the only error, or all of them joined.
func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// describe renders the claims a trust policy is written against.
func (c claims) describe() string {
	if !c.parsed {
		return "token is not a readable JWT"
	}
	return fmt.Sprintf("token iss=%q aud=%q sub=%q", c.Issuer, c.Audience, c.Subject)
}
