package gcpdemo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// The scenario's Pub/Sub resources, in driftwatch's own project.
const (
	ToolsProject = "driftwatch-sec"
	// AuditTopic receives the Log Router sink's entries.
	AuditTopic = "projects/" + ToolsProject + "/topics/driftwatch-audit"
	// AuditSubscription delivers them to the function (push to "/" or
	// pulled).
	AuditSubscription = "projects/" + ToolsProject + "/subscriptions/driftwatch-audit"
	// RemediationTopic receives approved fixes, undos and re-evaluations.
	RemediationTopic = "projects/" + ToolsProject + "/topics/driftwatch-remediation"
	// RemediationSubscription delivers them to the function.
	RemediationSubscription = "projects/" + ToolsProject + "/subscriptions/driftwatch-remediation"
)

// PubSub is the Pub/Sub emulator of the client library (pstest) on a
// loopback port, with the scenario's topics and subscriptions, and a
// client on it. Processes reach it with PUBSUB_EMULATOR_HOST=Addr().
type PubSub struct {
	srv    *pstest.Server
	conn   *grpc.ClientConn
	client *pubsub.Client
	mu     sync.Mutex
	pubs   map[string]*pubsub.Publisher
}

// StartPubSub starts the emulator and creates the topics and
// subscriptions (ack deadline 30 s, as infra/gcp deploys them).
func StartPubSub(ctx context.Context) (*PubSub, error) {
	srv := pstest.NewServerWithAddress("127.0.0.1:0")
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		srv.Close()
		return nil, err
	}
	client, err := pubsub.NewClient(ctx, ToolsProject, option.WithGRPCConn(conn))
	if err != nil {
		conn.Close()
		srv.Close()
		return nil, err
	}
	p := &PubSub{srv: srv, conn: conn, client: client, pubs: map[string]*pubsub.Publisher{}}
	for topic, sub := range map[string]string{AuditTopic: AuditSubscription, RemediationTopic: RemediationSubscription} {
		if _, err := client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
			p.Close()
			return nil, fmt.Errorf("create %s: %w", topic, err)
		}
		if _, err := client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
			Name: sub, Topic: topic, AckDeadlineSeconds: 30,
		}); err != nil {
			p.Close()
			return nil, fmt.Errorf("create %s: %w", sub, err)
		}
	}
	return p, nil
}

// Close stops the client and the emulator.
func (p *PubSub) Close() {
	p.mu.Lock()
	for _, pub := range p.pubs {
		pub.Stop()
	}
	p.mu.Unlock()
	p.client.Close()
	p.conn.Close()
	p.srv.Close()
}

// Addr is the emulator's host:port (PUBSUB_EMULATOR_HOST).
func (p *PubSub) Addr() string { return p.srv.Addr }

// Client is a client on the emulator.
func (p *PubSub) Client() *pubsub.Client { return p.client }

// Publisher returns topic's publisher (one per topic, stopped by Close).
func (p *PubSub) Publisher(topic string) *pubsub.Publisher {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pub, ok := p.pubs[topic]; ok {
		return pub
	}
	pub := p.client.Publisher(topic)
	p.pubs[topic] = pub
	return pub
}

// PublishEntry publishes a LogEntry to the audit topic as the Log Router
// sink does (its timestamp as the logging.googleapis.com/timestamp
// attribute) and returns the message id.
func (p *PubSub) PublishEntry(ctx context.Context, entry []byte, at time.Time) (string, error) {
	return p.Publisher(AuditTopic).Publish(ctx, &pubsub.Message{
		Data:       entry,
		Attributes: map[string]string{"logging.googleapis.com/timestamp": at.UTC().Format(time.RFC3339Nano)},
	}).Get(ctx)
}

// Messages are the emulator's records of the messages of topic, in
// publish order.
func (p *PubSub) Messages(topic string) []*pstest.Message {
	var out []*pstest.Message
	for _, m := range p.srv.Messages() {
		if m.Topic == topic {
			out = append(out, m)
		}
	}
	slices.SortStableFunc(out, func(a, b *pstest.Message) int { return a.PublishTime.Compare(b.PublishTime) })
	return out
}

// Wait returns once every message published to topic has been
// acknowledged, or with ctx's error.
func (p *PubSub) Wait(ctx context.Context, topic string) error {
	for {
		pending := 0
		for _, m := range p.Messages(topic) {
			if m.Acks == 0 {
				pending++
			}
		}
		if pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d messages of %s not acknowledged: %w", pending, topic, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Delivery is one push request the relay made.
type Delivery struct {
	MessageID  string
	Attributes map[string]string
	Status     int
}

// Relay delivers a subscription's messages to an endpoint as a Pub/Sub
// push subscription does, which pstest does not: the documented push body,
// the OIDC token of the push service account for the audience, ack on
// 102, 200, 201, 202 or 204 and nack (redelivery) on anything else.
type Relay struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	sent   []Delivery
}

// Relay starts relaying subscription to endpoint until Stop.
func (p *PubSub) Relay(subscription, endpoint, audience string, g *Google, client *http.Client) *Relay {
	ctx, cancel := context.WithCancel(context.Background())
	r := &Relay{cancel: cancel, done: make(chan struct{})}
	sub := p.client.Subscriber(subscription)
	// One push at a time: the order of the scenario's steps is the
	// order of its deliveries.
	sub.ReceiveSettings.MaxOutstandingMessages = 1
	go func() {
		defer close(r.done)
		sub.Receive(ctx, func(ctx context.Context, m *pubsub.Message) {
			status, err := r.push(ctx, m, subscription, endpoint, audience, g, client)
			r.mu.Lock()
			r.sent = append(r.sent, Delivery{MessageID: m.ID, Attributes: m.Attributes, Status: status})
			r.mu.Unlock()
			if err == nil && slices.Contains([]int{102, 200, 201, 202, 204}, status) {
				m.Ack()
				return
			}
			m.Nack()
		})
	}()
	return r
}

func (r *Relay) push(ctx context.Context, m *pubsub.Message, subscription, endpoint, audience string, g *Google, client *http.Client) (int, error) {
	tok, err := g.PushToken(audience, time.Now())
	if err != nil {
		return 0, err
	}
	body := PushBody(m.Data, m.Attributes, m.ID, m.PublishTime, subscription)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("User-Agent", "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Deliveries are the push requests made so far, in order.
func (r *Relay) Deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sent)
}

// Stop stops relaying and waits for the push in flight.
func (r *Relay) Stop() {
	r.cancel()
	<-r.done
}
