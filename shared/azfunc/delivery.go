package azfunc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/messaging"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azsystemevents"
)

// The media types of Event Grid webhook deliveries: the Event Grid schema
// (a JSON array), and CloudEvents 1.0 in structured mode, one event or a
// batch.
const (
	MediaJSON             = "application/json"
	MediaCloudEvent       = "application/cloudevents+json"
	MediaCloudEventsBatch = "application/cloudevents-batch+json"
)

// errContentType marks a delivery whose media type is none of the above.
var errContentType = errors.New("content type is not an Event Grid delivery")

// mediaType returns the delivery's media type, refusing anything but the
// three Event Grid sends.
func mediaType(contentType string) (string, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", fmt.Errorf("%w: %q", errContentType, truncate(contentType, 80))
	}
	switch mt {
	case MediaJSON, MediaCloudEvent, MediaCloudEventsBatch:
		return mt, nil
	}
	return "", fmt.Errorf("%w: %q", errContentType, truncate(mt, 80))
}

// envelope is one event of a delivery in either schema; exactly one of
// eg, ce and err is set.
type envelope struct {
	id  string
	typ string
	eg  *azsystemevents.EventGridEvent
	ce  *messaging.CloudEvent
	err error
}

// delivery is a parsed delivery: its events, or the validation code of a
// SubscriptionValidationEvent delivered alone.
type delivery struct {
	events     []envelope
	validation string
}

// parseDelivery splits a delivery body into events. The body must be a
// JSON array of events (the Event Grid schema, a CloudEvents batch) or one
// event object (a single CloudEvent); anything else is an error, answered
// 400, because no retry can make it an event. Each element is a CloudEvent
// when it has specversion, an Event Grid event otherwise; an element that
// is not a valid event of its schema is kept with its error, so that the
// other events of the batch are still handled.
func parseDelivery(body []byte, mt string) (delivery, error) {
	var raws []json.RawMessage
	switch trimmed := bytes.TrimLeft(body, " \t\r\n"); {
	case len(trimmed) > 0 && trimmed[0] == '[':
		if err := json.Unmarshal(body, &raws); err != nil {
			return delivery{}, fmt.Errorf("delivery is not a JSON array of events: %w", err)
		}
	case len(trimmed) > 0 && trimmed[0] == '{':
		var one json.RawMessage
		if err := json.Unmarshal(body, &one); err != nil {
			return delivery{}, fmt.Errorf("delivery is not a JSON event: %w", err)
		}
		raws = []json.RawMessage{one}
	default:
		return delivery{}, errors.New("delivery is neither a JSON array nor a JSON object")
	}
	d := delivery{events: make([]envelope, 0, len(raws))}
	for _, raw := range raws {
		d.events = append(d.events, parseEvent(raw, mt))
	}
	if len(d.events) == 1 && d.events[0].typ == azsystemevents.TypeSubscriptionValidation && d.events[0].eg != nil {
		code, err := validationCode(d.events[0].eg)
		if err != nil {
			d.events[0].err = err
			return d, nil
		}
		d.validation = code
	}
	return d, nil
}

// parseEvent decodes one element of a delivery.
func parseEvent(raw json.RawMessage, mt string) envelope {
	var probe struct {
		SpecVersion *json.RawMessage `json:"specversion"`
		ID          any              `json:"id"`
		EventType   any              `json:"eventType"`
		Type        any              `json:"type"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return envelope{err: fmt.Errorf("event is not a JSON object: %w", err)}
	}
	id, _ := probe.ID.(string)
	if probe.SpecVersion != nil || mt != MediaJSON {
		typ, _ := probe.Type.(string)
		var ce messaging.CloudEvent
		if err := json.Unmarshal(raw, &ce); err != nil {
			return envelope{id: id, typ: typ, err: fmt.Errorf("invalid CloudEvent: %w", err)}
		}
		if ce.SpecVersion != "1.0" {
			return envelope{id: id, typ: typ, err: fmt.Errorf("invalid CloudEvent: specversion %q, want \"1.0\"", truncate(ce.SpecVersion, 20))}
		}
		return envelope{id: ce.ID, typ: ce.Type, ce: &ce}
	}
	typ, _ := probe.EventType.(string)
	var eg azsystemevents.EventGridEvent
	if err := json.Unmarshal(raw, &eg); err != nil {
		return envelope{id: id, typ: typ, err: fmt.Errorf("invalid Event Grid event: %w", err)}
	}
	switch {
	case eg.ID == nil || *eg.ID == "":
		return envelope{typ: typ, err: errors.New("invalid Event Grid event: no id")}
	case eg.EventType == nil || *eg.EventType == "":
		return envelope{id: *eg.ID, err: errors.New("invalid Event Grid event: no eventType")}
	case eg.Data == nil:
		return envelope{id: *eg.ID, typ: *eg.EventType, err: errors.New("invalid Event Grid event: no data")}
	}
	return envelope{id: *eg.ID, typ: *eg.EventType, eg: &eg}
}

// validationCode reads a SubscriptionValidationEvent's code.
func validationCode(eg *azsystemevents.EventGridEvent) (string, error) {
	raw, _ := eg.Data.([]byte) // parseEvent only keeps events with JSON data
	var data azsystemevents.SubscriptionValidationEventData
	if err := json.Unmarshal(raw, &data); err != nil {
		return "", fmt.Errorf("invalid subscription validation event: %w", err)
	}
	if data.ValidationCode == nil || *data.ValidationCode == "" {
		return "", errors.New("subscription validation event without a validation code")
	}
	return *data.ValidationCode, nil
}
