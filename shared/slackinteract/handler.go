package slackinteract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/driftwatch/driftwatch/shared/alert"
	"github.com/driftwatch/driftwatch/shared/slackalert"
)

// DefaultAckTimeout is how long the handler lets the controller work
// before it answers Slack anyway: Slack shows the user an error when the
// answer takes more than 3 s, and the network and Lambda need the rest.
const DefaultAckTimeout = 2500 * time.Millisecond

// Texts the handler itself shows. They say nothing about the failure's
// cause: that goes to the log.
const (
	// MsgClickFailed is the ephemeral answer when the controller failed
	// or did not answer in time.
	MsgClickFailed = "driftwatch could not handle this click right now. The alert shows the current state; try again in a minute if it did not change."
	// MsgSubmitFailed is shown under the reason field when recording an
	// accepted risk failed; the modal stays open so nothing typed is lost.
	MsgSubmitFailed = "driftwatch could not record this right now. Try again in a minute."
)

// Controller does what a click or a submission asks. The handler has
// verified the request and parsed its references; the controller decides
// whether the user may (governance) and records it. Each call runs under a
// context whose deadline is the ack deadline and which is cancelled when
// the handler answers: work that takes longer (running the fix) must be
// handed off (EventBridge), not done here.
type Controller interface {
	// Remediate records the clicker's approval of the fix of c.Ref.
	Remediate(ctx context.Context, c Click) (Reply, error)
	// Undo asks to restore the snapshot of c.Ref's succeeded fix.
	Undo(ctx context.Context, c Click) (Reply, error)
	// OpenAcceptRisk opens slackalert.AcceptRiskModal with c.TriggerID
	// (views.open; the trigger expires 3 s after the click) or refuses.
	OpenAcceptRisk(ctx context.Context, c Click) (Reply, error)
	// SubmitAcceptRisk records an accepted risk. Field errors, keyed by
	// the modal's input block ids (slackalert.AcceptRiskReasonBlockID,
	// slackalert.AcceptRiskExpiryBlockID), keep the modal open and are
	// shown under the fields; nil closes it.
	SubmitAcceptRisk(ctx context.Context, s Submission) (fieldErrors map[string]string, err error)
}

// User is the Slack user who clicked or submitted, as the signed request
// names them.
type User struct {
	// ID is the Slack user id (U… or W…): what governance checks.
	ID string
	// Name is the user's handle, for messages; never for decisions.
	Name   string
	TeamID string
}

// Click is a verified button click on an alert.
type Click struct {
	// ActionID is slackalert.RemediateActionID, UndoActionID or
	// AcceptRiskActionID.
	ActionID string
	User     User
	// TeamID and EnterpriseID are the workspace (and organisation) the
	// click came from; APIAppID the app it was sent to.
	TeamID       string
	EnterpriseID string
	APIAppID     string
	// Channel and MessageTS locate the alert message.
	Channel   string
	MessageTS string
	// TriggerID opens a modal (valid for 3 s); ResponseURL posts to the
	// channel as a reply to this click (valid for 30 minutes).
	TriggerID   string
	ResponseURL string
	ActionTS    string
	// Ref is the finding episode the button was rendered for, decoded
	// strictly from the button's value. It names a finding, not a
	// permission: the controller re-reads everything it decides on.
	Ref alert.FixRef
}

// Submission is a verified, validated Accept risk submission.
type Submission struct {
	User   User
	TeamID string
	// ViewID is the modal's id.
	ViewID string
	// AcceptRisk carries the finding, reason, expiry in days and the alert
	// message (channel, ts) the modal was opened from.
	AcceptRisk slackalert.AcceptRisk
}

// Reply is a controller's answer to a click.
type Reply struct {
	// Ephemeral, when set, is shown to the clicker only (a refusal, "you
	// already approved"), posted to the click's response_url. It is plain
	// words: the handler escapes it so it cannot mention or link.
	Ephemeral string
}

// Replays remembers verified requests so that each is handled once. Claim
// returns an error wrapping store.ErrClaimed (ErrReplayed) when id was
// claimed before; any other error means the claim could not be recorded.
// The handler claims the request's signature, which Slack computes per
// request, after verifying it; an entry needs to live only as long as the
// signature is valid (2 × Window; see StoreReplays).
type Replays interface {
	Claim(ctx context.Context, id string, now time.Time) error
}

// Options tune a Handler. The zero value is usable.
type Options struct {
	// Logger receives structured logs; nil discards them. The secret, the
	// signature and the payload are never logged.
	Logger *slog.Logger
	// Now is the clock the signature window is checked against; nil means
	// time.Now.
	Now func() time.Time
	// AckTimeout bounds the controller's work per request; zero means
	// DefaultAckTimeout.
	AckTimeout time.Duration
	// HTTPClient posts ephemeral replies to response_url; nil means a
	// client with a 2 s timeout.
	HTTPClient *http.Client
	// AllowResponseURL says whether a response_url may be posted to; nil
	// allows https://hooks.slack.com/ and https://hooks.slack-gov.com/
	// only, so that even a signed payload cannot make the function call
	// anywhere else.
	AllowResponseURL func(*url.URL) bool
}

// Handler is the interactivity endpoint (http.Handler).
type Handler struct {
	secret   string
	ctrl     Controller
	replays  Replays
	log      *slog.Logger
	now      func() time.Time
	ack      time.Duration
	client   *http.Client
	allowURL func(*url.URL) bool
}

// NewHandler returns the endpoint for the app whose signing secret is
// secret.
func NewHandler(secret string, ctrl Controller, replays Replays, opts *Options) (*Handler, error) {
	switch {
	case secret == "":
		return nil, fmt.Errorf("slackinteract: %w", ErrNoSecret)
	case ctrl == nil:
		return nil, errors.New("slackinteract: nil controller")
	case replays == nil:
		return nil, errors.New("slackinteract: nil replay store")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = DefaultAckTimeout
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 2 * time.Second}
	}
	if o.AllowResponseURL == nil {
		o.AllowResponseURL = slackHooksOnly
	}
	return &Handler{secret: secret, ctrl: ctrl, replays: replays, log: o.Logger, now: o.Now,
		ack: o.AckTimeout, client: o.HTTPClient, allowURL: o.AllowResponseURL}, nil
}

// slackHooksOnly is the default AllowResponseURL.
func slackHooksOnly(u *url.URL) bool {
	return u.Scheme == "https" && u.User == nil && u.Port() == "" &&
		(u.Host == "hooks.slack.com" || u.Host == "hooks.slack-gov.com")
}

// ServeHTTP verifies, claims, parses and routes one request, and answers
// within the ack deadline:
//
//	405 not a POST; 401 bad or stale signature; 413 body over 1 MiB;
//	409 a replay of a request already handled; 503 the replay store failed;
//	415/400 a verified request that is not an interaction payload;
//	200 everything else (empty body, or response_action "errors" for a
//	view submission the user must correct).
//
// Internal errors are logged, never sent to Slack.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(r.Context(), h.ack)
	defer cancel()
	log := h.log

	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		plainError(w, http.StatusMethodNotAllowed)
		return
	}
	now := h.now()
	body, err := Verify(r, h.secret, now)
	if err != nil {
		status := http.StatusUnauthorized
		switch {
		case errors.Is(err, ErrBodyTooLarge):
			status = http.StatusRequestEntityTooLarge
		case errors.Is(err, ErrBodyRead):
			status = http.StatusBadRequest
		case errors.Is(err, ErrNoSecret):
			status = http.StatusInternalServerError
		}
		log.WarnContext(ctx, "slack request rejected", "reason", err.Error(), "status", status, "remote", r.RemoteAddr)
		plainError(w, status)
		return
	}
	// The signature is unique per request and already verified; claiming
	// it before parsing makes a replay a no-op whatever it carries. Hex
	// digits are accepted in either case, so the claim is on the
	// lower-case form: "v0=AB…" must not pass as a new request.
	if err := h.replays.Claim(ctx, strings.ToLower(r.Header.Get(HeaderSignature)), now); err != nil {
		if errors.Is(err, ErrReplayed) {
			log.WarnContext(ctx, "replayed slack request rejected", "remote", r.RemoteAddr)
			plainError(w, http.StatusConflict)
			return
		}
		log.ErrorContext(ctx, "recording the slack request failed", "err", err.Error())
		plainError(w, http.StatusServiceUnavailable)
		return
	}

	cb, err := parsePayload(r.Header.Get("Content-Type"), body)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, errContentType) {
			status = http.StatusUnsupportedMediaType
		}
		log.WarnContext(ctx, "slack payload rejected", "reason", err.Error(), "status", status)
		plainError(w, status)
		return
	}
	log = log.With("interaction", string(cb.Type), "user_id", cb.User.ID, "team_id", cb.Team.ID)

	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		h.blockActions(ctx, w, log, cb, start)
	case slack.InteractionTypeViewSubmission:
		h.viewSubmission(ctx, w, log, cb, start)
	default:
		// view_closed, shortcuts, ...: nothing of ours to do.
		log.DebugContext(ctx, "slack interaction ignored")
		ack(w)
	}
}

// errContentType marks a body that is not form-encoded.
var errContentType = errors.New("content type is not application/x-www-form-urlencoded")

// interaction is the part of Slack's interaction payload the handler
// reads, with slack-go's types for the parts it passes on. slack-go's
// InteractionCallback would also decode every block of the original
// message (the whole alert) on each click, which costs about ten times the
// rest of the request; here encoding/json skips what is not declared.
type interaction struct {
	Type       slack.InteractionType `json:"type"`
	User       payloadUser           `json:"user"`
	Team       payloadID             `json:"team"`
	Enterprise *payloadID            `json:"enterprise"`
	APIAppID   string                `json:"api_app_id"`
	Container  slack.Container       `json:"container"`
	Channel    payloadID             `json:"channel"`
	Message    struct {
		Timestamp string `json:"ts"`
	} `json:"message"`
	TriggerID   string               `json:"trigger_id"`
	ResponseURL string               `json:"response_url"`
	Actions     []*slack.BlockAction `json:"actions"`
	View        slack.View           `json:"view"`
}

type payloadID struct {
	ID string `json:"id"`
}

type payloadUser struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Username string `json:"username"`
	TeamID   string `json:"team_id"`
}

// parsePayload decodes the verified body: a form with exactly one
// "payload" field holding the interaction JSON. The URL's query string is
// never consulted: it is not covered by the signature.
func parsePayload(contentType string, body []byte) (interaction, error) {
	var cb interaction
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/x-www-form-urlencoded" {
		return cb, fmt.Errorf("%w: %q", errContentType, truncate(contentType, 80))
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return cb, fmt.Errorf("decoding form: %w", err)
	}
	p := form["payload"]
	if len(p) != 1 || p[0] == "" {
		return cb, fmt.Errorf("want exactly one non-empty payload field, got %d", len(p))
	}
	if err := json.Unmarshal([]byte(p[0]), &cb); err != nil {
		return interaction{}, fmt.Errorf("decoding payload JSON: %w", err)
	}
	if cb.Type == "" {
		return interaction{}, errors.New("payload has no type")
	}
	return cb, nil
}

// blockActions routes a button click.
func (h *Handler) blockActions(ctx context.Context, w http.ResponseWriter, log *slog.Logger, cb interaction, start time.Time) {
	acts := cb.Actions
	if len(acts) != 1 || acts[0] == nil {
		log.WarnContext(ctx, "slack block_actions rejected", "reason", fmt.Sprintf("want one block action, got %d", len(acts)))
		plainError(w, http.StatusBadRequest)
		return
	}
	act := acts[0]
	log = log.With("action_id", act.ActionID)
	var call func(context.Context, Click) (Reply, error)
	switch act.ActionID {
	case slackalert.RemediateActionID:
		call = h.ctrl.Remediate
	case slackalert.UndoActionID:
		call = h.ctrl.Undo
	case slackalert.AcceptRiskActionID:
		call = h.ctrl.OpenAcceptRisk
	case slackalert.OpenConsoleActionID:
		// A link button: Slack opened the URL in the browser and tells us
		// anyway. Acknowledge so Slack shows no error.
		ack(w)
		return
	default:
		log.InfoContext(ctx, "unknown slack action ignored")
		ack(w)
		return
	}
	c, err := click(cb, act)
	if err != nil {
		log.WarnContext(ctx, "slack click rejected", "reason", err.Error())
		plainError(w, http.StatusBadRequest)
		return
	}
	log = log.With("rule_id", c.Ref.RuleID, "resource_id", c.Ref.ResourceID, "account", c.Ref.Account)

	reply, err := runWithin(ctx, func(ctx context.Context) (Reply, error) { return call(ctx, c) })
	switch {
	case errors.Is(err, errMissedDeadline):
		log.ErrorContext(ctx, "controller missed the slack ack deadline; acknowledged without its answer",
			"deadline", h.ack, "elapsed", time.Since(start))
		ack(w)
		return
	case err != nil:
		log.ErrorContext(ctx, "slack click failed", "err", err.Error(), "elapsed", time.Since(start))
		reply = Reply{Ephemeral: MsgClickFailed}
	default:
		log.InfoContext(ctx, "slack click handled", "elapsed", time.Since(start), "ephemeral", reply.Ephemeral != "")
	}
	if reply.Ephemeral != "" {
		h.postEphemeral(ctx, log, c.ResponseURL, reply.Ephemeral)
	}
	ack(w)
}

// click builds and checks a Click from a verified payload.
func click(cb interaction, act *slack.BlockAction) (Click, error) {
	if !strings.HasPrefix(act.BlockID, slackalert.FixBlockIDPrefix) {
		return Click{}, fmt.Errorf("block_id %q is not a fix block", truncate(act.BlockID, 80))
	}
	ref, err := slackalert.DecodeFixValue(act.Value)
	if err != nil {
		return Click{}, err
	}
	c := Click{
		ActionID:     act.ActionID,
		User:         user(cb),
		TeamID:       cb.Team.ID,
		EnterpriseID: enterpriseID(cb),
		APIAppID:     cb.APIAppID,
		Channel:      cb.Container.ChannelID,
		MessageTS:    cb.Container.MessageTs,
		TriggerID:    cb.TriggerID,
		ResponseURL:  cb.ResponseURL,
		ActionTS:     act.ActionTs,
		Ref:          ref,
	}
	if c.Channel == "" {
		c.Channel = cb.Channel.ID
	}
	if c.MessageTS == "" {
		c.MessageTS = cb.Message.Timestamp
	}
	switch {
	case cb.Container.Type != "" && cb.Container.Type != "message":
		return Click{}, fmt.Errorf("container type %q is not a message", truncate(cb.Container.Type, 40))
	case !slackalert.ValidSlackID(c.User.ID):
		return Click{}, errors.New("missing or malformed user id")
	case c.TeamID != "" && !slackalert.ValidSlackID(c.TeamID):
		return Click{}, errors.New("malformed team id")
	case !slackalert.ValidSlackID(c.Channel):
		return Click{}, errors.New("missing or malformed channel id")
	case !slackalert.ValidSlackTS(c.MessageTS):
		return Click{}, errors.New("missing or malformed message ts")
	case c.ActionID == slackalert.AcceptRiskActionID && c.TriggerID == "":
		return Click{}, errors.New("accept risk click without trigger_id")
	}
	return c, nil
}

func enterpriseID(cb interaction) string {
	if cb.Enterprise == nil {
		return ""
	}
	return cb.Enterprise.ID
}

func user(cb interaction) User {
	u := User{ID: cb.User.ID, Name: cb.User.Name, TeamID: cb.User.TeamID}
	if u.Name == "" {
		u.Name = cb.User.Username
	}
	return u
}

// viewSubmission handles the Accept risk modal.
func (h *Handler) viewSubmission(ctx context.Context, w http.ResponseWriter, log *slog.Logger, cb interaction, start time.Time) {
	if cb.View.CallbackID != slackalert.AcceptRiskCallbackID {
		log.InfoContext(ctx, "unknown slack view submission ignored", "callback_id", truncate(cb.View.CallbackID, 80))
		ack(w)
		return
	}
	u := user(cb)
	if !slackalert.ValidSlackID(u.ID) {
		log.WarnContext(ctx, "slack view submission rejected", "reason", "missing or malformed user id")
		plainError(w, http.StatusBadRequest)
		return
	}
	ar, err := slackalert.ParseAcceptRisk(cb.View)
	var fe slackalert.FieldErrors
	switch {
	case errors.As(err, &fe):
		log.InfoContext(ctx, "accept-risk submission needs corrections", "fields", len(fe))
		viewErrors(w, fe)
		return
	case err != nil:
		log.WarnContext(ctx, "accept-risk submission rejected", "reason", err.Error())
		viewErrors(w, map[string]string{slackalert.AcceptRiskReasonBlockID: MsgSubmitFailed})
		return
	}
	log = log.With("rule_id", ar.Ref.RuleID, "resource_id", ar.Ref.ResourceID, "account", ar.Ref.Account)
	sub := Submission{User: u, TeamID: cb.Team.ID, ViewID: cb.View.ID, AcceptRisk: ar}
	type result struct {
		fields map[string]string
	}
	res, err := runWithin(ctx, func(ctx context.Context) (result, error) {
		f, err := h.ctrl.SubmitAcceptRisk(ctx, sub)
		return result{f}, err
	})
	switch {
	case errors.Is(err, errMissedDeadline):
		log.ErrorContext(ctx, "controller missed the slack ack deadline; asked the user to retry",
			"deadline", h.ack, "elapsed", time.Since(start))
		viewErrors(w, map[string]string{slackalert.AcceptRiskReasonBlockID: MsgSubmitFailed})
	case err != nil:
		log.ErrorContext(ctx, "recording accepted risk failed", "err", err.Error(), "elapsed", time.Since(start))
		viewErrors(w, map[string]string{slackalert.AcceptRiskReasonBlockID: MsgSubmitFailed})
	case len(res.fields) > 0:
		log.InfoContext(ctx, "accept-risk submission refused by the controller", "fields", len(res.fields), "elapsed", time.Since(start))
		viewErrors(w, onInputs(res.fields))
	default:
		log.InfoContext(ctx, "accepted risk recorded", "days", ar.Days, "elapsed", time.Since(start))
		ack(w)
	}
}

// errMissedDeadline: the controller did not answer before the ack deadline.
var errMissedDeadline = errors.New("controller missed the ack deadline")

// onInputs keeps the controller's field errors on the modal's input
// blocks: Slack answers an error keyed by any other block id with a
// generic "trouble connecting", so such a message moves to the reason.
func onInputs(fields map[string]string) map[string]string {
	out := make(map[string]string, len(fields))
	var others []string
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		switch k {
		case slackalert.AcceptRiskReasonBlockID, slackalert.AcceptRiskExpiryBlockID:
			out[k] = fields[k]
		default:
			others = append(others, fields[k])
		}
	}
	if len(others) > 0 {
		r := slackalert.AcceptRiskReasonBlockID
		out[r] = strings.TrimSpace(out[r] + " " + strings.Join(others, " "))
	}
	return out
}

// runWithin runs f under ctx and returns its result, or errMissedDeadline
// when ctx ends first; f then finishes on its own with a cancelled
// context. A panic in f is returned as an error.
func runWithin[T any](ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	type out struct {
		v   T
		err error
	}
	ch := make(chan out, 1) // buffered: a late f never blocks
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ch <- out{err: fmt.Errorf("controller panic: %v\n%s", p, debug.Stack())}
			}
		}()
		v, err := f(ctx)
		ch <- out{v, err}
	}()
	select {
	case o := <-ch:
		return o.v, o.err
	case <-ctx.Done():
		var zero T
		return zero, errMissedDeadline
	}
}

// postEphemeral shows text to the clicker only, through the click's
// response_url. Slack ignores a message in the HTTP answer to a
// block_actions request, so response_url is the way to answer a click.
func (h *Handler) postEphemeral(ctx context.Context, log *slog.Logger, responseURL, text string) {
	u, err := url.Parse(responseURL)
	if responseURL == "" || err != nil || !h.allowURL(u) {
		log.WarnContext(ctx, "ephemeral reply not sent: response_url missing or not allowed", "host", hostOf(u))
		return
	}
	body, err := json.Marshal(map[string]any{
		"response_type":    "ephemeral",
		"replace_original": false,
		"text":             slackalert.EscapeText(text),
	})
	if err != nil {
		log.ErrorContext(ctx, "ephemeral reply not sent", "err", err.Error())
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(string(body)))
	if err != nil {
		log.ErrorContext(ctx, "ephemeral reply not sent", "err", err.Error())
		return
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := h.client.Do(req)
	if err != nil {
		// The URL embeds a secret-ish path; log the host only.
		log.ErrorContext(ctx, "ephemeral reply failed", "host", u.Host, "err", redactURL(err.Error(), u))
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		log.ErrorContext(ctx, "ephemeral reply refused", "host", u.Host, "status", resp.StatusCode)
	}
}

func hostOf(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Host
}

// redactURL removes the response URL (whose path authorises posting) from
// an error message.
func redactURL(msg string, u *url.URL) string {
	return strings.ReplaceAll(msg, u.String(), u.Scheme+"://"+u.Host+"/…")
}

// ack answers 200 with an empty body: Slack's acknowledgement.
func ack(w http.ResponseWriter) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// viewErrors answers a view submission with response_action "errors".
func viewErrors(w http.ResponseWriter, fields map[string]string) {
	body, _ := json.Marshal(slack.NewErrorsViewSubmissionResponse(fields)) // a map of strings always marshals
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// plainError answers status with its standard text and nothing else.
func plainError(w http.ResponseWriter, status int) {
	http.Error(w, http.StatusText(status), status)
}

// truncate bounds an untrusted value quoted in a log line.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
