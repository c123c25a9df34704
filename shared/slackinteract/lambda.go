package slackinteract

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// FunctionURL adapts h to a Lambda Function URL in its default BUFFERED
// invoke mode (aws-lambda-go's lambdaurl package supports only
// RESPONSE_STREAM): it rebuilds the *http.Request from the event
// (base64 body decoded, headers as Lambda passes them — lower-cased and
// multiple values joined by commas —, raw path and query, cookies, source
// IP), runs h, and returns the buffered response. A body that is not
// valid base64 gets a 400 without reaching h. It never returns an error:
// a Lambda error would reach Slack as a 502 with no body of ours.
func FunctionURL(h http.Handler) func(context.Context, events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	return func(ctx context.Context, ev events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
		body := []byte(ev.Body)
		if ev.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(ev.Body)
			if err != nil {
				return textResponse(http.StatusBadRequest), nil
			}
			body = b
		}
		path := ev.RawPath
		if path == "" {
			path = "/"
		}
		host := ev.RequestContext.DomainName
		if host == "" {
			host = "localhost"
		}
		u := &url.URL{Scheme: "https", Host: host, RawQuery: ev.RawQueryString}
		if err := setPath(u, path); err != nil {
			return textResponse(http.StatusBadRequest), nil
		}
		method := ev.RequestContext.HTTP.Method
		if method == "" {
			method = http.MethodGet
		}
		req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
		if err != nil {
			return textResponse(http.StatusBadRequest), nil
		}
		for k, v := range ev.Headers {
			req.Header.Set(k, v)
		}
		if len(ev.Cookies) > 0 {
			req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
		}
		req.Host = host
		req.RequestURI = u.RequestURI()
		req.RemoteAddr = ev.RequestContext.HTTP.SourceIP
		req.ContentLength = int64(len(body))

		w := &bufferedResponse{header: http.Header{}}
		h.ServeHTTP(w, req)
		return w.response(), nil
	}
}

// setPath sets u's path from a raw (escaped) path.
func setPath(u *url.URL, raw string) error {
	p, err := url.PathUnescape(raw)
	if err != nil {
		return err
	}
	u.Path, u.RawPath = p, raw
	return nil
}

func textResponse(status int) events.LambdaFunctionURLResponse {
	return events.LambdaFunctionURLResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "text/plain; charset=utf-8"},
		Body:       http.StatusText(status) + "\n",
	}
}

// bufferedResponse is an http.ResponseWriter that keeps the response for
// the Function URL answer.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedResponse) response() events.LambdaFunctionURLResponse {
	out := events.LambdaFunctionURLResponse{StatusCode: b.status, Headers: map[string]string{}}
	if out.StatusCode == 0 {
		out.StatusCode = http.StatusOK
	}
	for k, vs := range b.header {
		if http.CanonicalHeaderKey(k) == "Set-Cookie" {
			out.Cookies = append(out.Cookies, vs...)
			continue
		}
		out.Headers[k] = strings.Join(vs, ",")
	}
	if utf8.Valid(b.body.Bytes()) {
		out.Body = b.body.String()
	} else {
		out.Body, out.IsBase64Encoded = base64.StdEncoding.EncodeToString(b.body.Bytes()), true
	}
	return out
}
