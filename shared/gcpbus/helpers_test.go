package gcpbus_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/store"
)

const (
	project   = "driftwatch-test"
	topicName = "projects/" + project + "/topics/driftwatch-remediation"
	subName   = "projects/" + project + "/subscriptions/driftwatch-remediation-pull"
)

// emulator is pstest, the Pub/Sub emulator of the client library, with a
// client over an insecure gRPC connection, one topic and one pull
// subscription on it.
type emulator struct {
	srv    *pstest.Server
	client *pubsub.Client
}

func newEmulator(t *testing.T) *emulator {
	t.Helper()
	srv := pstest.NewServer()
	t.Cleanup(func() { srv.Close() })
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	client, err := pubsub.NewClient(t.Context(), project, option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	ctx := t.Context()
	if _, err := client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topicName}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name: subName, Topic: topicName, AckDeadlineSeconds: 10,
	}); err != nil {
		t.Fatal(err)
	}
	return &emulator{srv: srv, client: client}
}

// publisher is the topic's publisher; it is stopped at the end of the test.
func (e *emulator) publisher(t *testing.T) *pubsub.Publisher {
	t.Helper()
	p := e.client.Publisher(topicName)
	t.Cleanup(p.Stop)
	return p
}

// publishRaw publishes data with attributes as any publisher could.
func (e *emulator) publishRaw(data string, attrs map[string]string) string {
	return e.srv.Publish(topicName, []byte(data), attrs)
}

// message is the emulator's record of a message.
func (e *emulator) message(id string) *pstest.Message {
	return e.srv.Message(id)
}

// receive runs gcpbus.Receive-like work in the background: run(ctx)
// until stop is called; stop cancels, waits and returns run's error.
func receive(t *testing.T, run func(ctx context.Context) error) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Receive did not return within 10s of the cancellation")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// eventually polls cond every 10ms for up to 5s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gcpRequest is an approved fix of a GCP bucket.
var gcpRequest = remediation.Request{
	Op:            remediation.OpApply,
	Key:           store.Key{Cloud: "gcp", Account: project, ResourceID: "//storage.googleapis.com/projects/_/buckets/payments-exports"},
	ResourceType:  "storage.googleapis.com/Bucket",
	Region:        "europe-west1",
	RemediationID: "rem-abc",
	By:            "Alice",
	At:            time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC),
}
