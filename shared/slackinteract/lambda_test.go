package slackinteract

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/driftwatch/driftwatch/shared/slackalert"
)

// urlEvent is the Function URL event Lambda delivers for a Slack POST of
// body: the captured shape in testdata, with Lambda's lower-case headers.
func urlEvent(t testing.TB, body []byte, base64Body bool, sig, ts string) events.LambdaFunctionURLRequest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testdata, "function_url_request.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.LambdaFunctionURLRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	ev.Headers["x-slack-signature"], ev.Headers["x-slack-request-timestamp"] = sig, ts
	ev.Headers["content-length"] = strconv.Itoa(len(body))
	ev.IsBase64Encoded = base64Body
	if base64Body {
		ev.Body = base64.StdEncoding.EncodeToString(body)
	} else {
		ev.Body = string(body)
	}
	return ev
}

func TestFunctionURLRoundTrip(t *testing.T) {
	for _, b64 := range []bool{true, false} {
		t.Run("base64="+strconv.FormatBool(b64), func(t *testing.T) {
			hs := newHarness(t, nil)
			fn := FunctionURL(hs.h)
			body := formBody(t, clickPayload(t, slackalert.RemediateActionID))
			ts := strconv.FormatInt(testNow.Unix(), 10)
			ev := urlEvent(t, body, b64, Sign(testSecret, ts, body), ts)

			// In-process through aws-lambda-go's own handler: the event goes
			// in as Lambda's JSON and the answer comes out as JSON.
			in, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{
				AwsRequestID: "5d6f8a9b-0c1d-4e2f-8a3b-4c5d6e7f8a9b", InvokedFunctionArn: "arn:aws:lambda:eu-west-1:111122223333:function:driftwatch-interactivity",
			})
			out, err := lambda.NewHandler(fn).Invoke(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			var resp events.LambdaFunctionURLResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || resp.Body != "" || resp.IsBase64Encoded {
				t.Fatalf("response %+v, want 200 with an empty body", resp)
			}
			clicks, _ := hs.ctrl.calls()
			if len(clicks) != 1 || clicks[0].Ref != testRef() || clicks[0].User.ID != "U04ALICE01" {
				t.Fatalf("clicks %+v", clicks)
			}

			// The same event again is a replay.
			resp, err = fn(ctx, ev)
			if err != nil || resp.StatusCode != http.StatusConflict {
				t.Errorf("replay through the Function URL: %+v, %v", resp, err)
			}
			// A forged one is refused.
			forged := urlEvent(t, body, b64, Sign("wrong", ts, body), ts)
			resp, err = fn(ctx, forged)
			if err != nil || resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("forged through the Function URL: %+v, %v", resp, err)
			}
		})
	}
}

func TestFunctionURLMapping(t *testing.T) {
	var seen *http.Request
	var seenBody []byte
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		seenBody, _ = io.ReadAll(r.Body)
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		http.SetCookie(w, &http.Cookie{Name: "s", Value: "1"})
		http.SetCookie(w, &http.Cookie{Name: "t", Value: "2"})
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte{0xff, 0x00, 0xfe}) // not UTF-8: must travel as base64
	})
	ev := urlEvent(t, []byte("a=1&b=%20"), true, "v0=x", "1")
	ev.RawPath, ev.RawQueryString = "/slack/inter%2Factivity", "x=1&x=2"
	ev.Cookies = []string{"c1=v1", "c2=v2"}
	resp, err := FunctionURL(h)(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if seen.Method != http.MethodPost || seen.URL.EscapedPath() != "/slack/inter%2Factivity" || seen.URL.Query()["x"][1] != "2" {
		t.Errorf("request %s %s", seen.Method, seen.URL)
	}
	if seen.Host != "abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws" || seen.RemoteAddr != "3.92.167.81" {
		t.Errorf("host %q remote %q", seen.Host, seen.RemoteAddr)
	}
	if seen.Header.Get(HeaderSignature) != "v0=x" || seen.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("headers not canonicalised: %v", seen.Header)
	}
	if string(seenBody) != "a=1&b=%20" || seen.ContentLength != int64(len(seenBody)) {
		t.Errorf("body %q length %d", seenBody, seen.ContentLength)
	}
	if c, err := seen.Cookie("c2"); err != nil || c.Value != "v2" {
		t.Errorf("cookie c2: %v %v", c, err)
	}
	if resp.StatusCode != http.StatusAccepted || resp.Headers["X-Multi"] != "a,b" {
		t.Errorf("response %+v", resp)
	}
	if !slices.Equal(resp.Cookies, []string{"s=1", "t=2"}) {
		t.Errorf("cookies %v", resp.Cookies)
	}
	if !resp.IsBase64Encoded || resp.Body != base64.StdEncoding.EncodeToString([]byte{0xff, 0x00, 0xfe}) {
		t.Errorf("binary body %q base64=%v", resp.Body, resp.IsBase64Encoded)
	}
}

func TestFunctionURLBadBase64(t *testing.T) {
	called := false
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })
	ev := urlEvent(t, nil, true, "v0=x", "1")
	ev.Body = "not base64!"
	resp, err := FunctionURL(h)(context.Background(), ev)
	if err != nil || resp.StatusCode != http.StatusBadRequest || called {
		t.Errorf("response %+v, err %v, handler called %v", resp, err, called)
	}
}
