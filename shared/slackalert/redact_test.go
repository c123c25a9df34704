package slackalert

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestRedactToken(t *testing.T) {
	tests := []struct{ in, want string }{
		{"no token here", "no token here"},
		{"token=xoxb-1111-2222-AbCdEf", "token=xoxb-REDACTED"},
		{"Bearer xoxp-1-2-3-abc.def_ghi and more", "Bearer xoxp-REDACTED and more"},
		{"rotating xoxe.xoxp-1-Mi0yLTEy", "rotating xoxe.xoxp-REDACTED"},
		{"app xapp-1-A0-123-abc", "app xapp-REDACTED"},
		{"two xoxb-a xoxb-b", "two xoxb-REDACTED xoxb-REDACTED"},
		{"xox alone, xoxb- empty, xoxo", "xox alone, xoxb- empty, xoxo"},
		{"http://slack.test/api?token=xoxb-9-9-zz#frag", "http://slack.test/api?token=xoxb-REDACTED#frag"},
	}
	for _, tt := range tests {
		if got := redactToken(tt.in); got != tt.want {
			t.Errorf("redactToken(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	// A transport error whose URL carries a token (a misconfigured API URL)
	// must not print it.
	leaky := &url.Error{Op: "Post", URL: "https://slack.example/api/chat.postMessage?token=xoxb-123-456-SECRET", Err: errors.New("connection refused")}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"slack error", slack.SlackErrorResponse{Err: "channel_not_found"}, "slack chat.postMessage: channel_not_found"},
		{"rate limited", &slack.RateLimitedError{RetryAfter: 30 * time.Second}, "slack chat.postMessage: slack rate limit exceeded, retry after 30s (retry after 30s) [retryable]"},
		{"leaky url", leaky, `slack chat.postMessage: Post "https://slack.example/api/chat.postMessage?token=xoxb-REDACTED": connection refused [retryable]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newError("chat.postMessage", tt.err)
			if got := e.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			if strings.Contains(e.Error(), "SECRET") {
				t.Error("token leaked")
			}
			if u := e.Unwrap(); !reflect.DeepEqual(u[len(u)-1], tt.err) {
				t.Errorf("Unwrap() = %v, want it to end with the slack-go error", u)
			}
		})
	}
}
