package awsdemo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/driftwatch/driftwatch/shared/alert"
	"github.com/driftwatch/driftwatch/shared/slackalert"
	"github.com/driftwatch/driftwatch/shared/slackinteract"
)

// Click is a button click as Slack sends it to the interactivity endpoint.
type Click struct {
	User, ActionID  string
	Ref             alert.FixRef
	Channel, TS     string
	ResponseURL     string
	TriggerID       string
	Team, AppID     string
	ActionTimestamp time.Time
}

// Payload is the block_actions payload of the click.
func (c Click) Payload() map[string]any {
	return map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": c.User, "username": c.User, "name": c.User, "team_id": c.Team},
		"api_app_id":   c.AppID,
		"team":         map[string]any{"id": c.Team, "domain": "acme"},
		"container":    map[string]any{"type": "message", "message_ts": c.TS, "channel_id": c.Channel},
		"channel":      map[string]any{"id": c.Channel, "name": "drift-alerts"},
		"trigger_id":   c.TriggerID,
		"response_url": c.ResponseURL,
		"message":      map[string]any{"ts": c.TS, "type": "message"},
		"actions": []map[string]any{{
			"action_id": c.ActionID, "block_id": slackalert.FixBlockID(c.Ref.RuleID), "type": "button",
			"value":     slackalert.EncodeFixValue(c.Ref),
			"action_ts": strconv.FormatInt(c.ActionTimestamp.Unix(), 10) + ".000100",
		}},
	}
}

// SignedRequest is payload posted to endpoint as Slack does: form-encoded
// and signed with the app's signing secret at time at.
func SignedRequest(endpoint, secret string, payload any, at time.Time) (*http.Request, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	body := []byte("payload=" + url.QueryEscape(string(raw)))
	req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	slackinteract.SignRequest(req, secret, at, body)
	return req, nil
}

// ButtonRef returns the fix reference a message's button carries.
func ButtonRef(blocks json.RawMessage, actionID string) (alert.FixRef, error) {
	var bs []struct {
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(blocks, &bs); err != nil {
		return alert.FixRef{}, err
	}
	for _, b := range bs {
		for _, e := range b.Elements {
			if e.ActionID == actionID {
				return slackalert.DecodeFixValue(e.Value)
			}
		}
	}
	return alert.FixRef{}, fmt.Errorf("no %s button", actionID)
}
