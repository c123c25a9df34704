package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/driftwatch/driftwatch/shared/awsfed"
	"github.com/driftwatch/driftwatch/shared/awsfed/azuremi"
	"github.com/driftwatch/driftwatch/shared/azdetector"
	"github.com/driftwatch/driftwatch/shared/azfunc"
)

// sessionName names the function's AWS sessions in CloudTrail.
const sessionName = "driftwatch-azure-function"

// wire builds, from the environment, the two dependencies the HTTP layer
// hands deliveries to: the drift pipeline and the remediation executor,
// both acting with the function's managed identity (AZURE_CLIENT_ID picks
// a user-assigned one) and reaching the posture table through AWS web
// identity federation.
func wire(ctx context.Context, getenv func(string) string, log *slog.Logger) (azfunc.Processor, azfunc.Executor, error) {
	c, err := azdetector.ConfigFromEnv(getenv)
	if err != nil {
		return nil, nil, err
	}
	miOpts := &azidentity.ManagedIdentityCredentialOptions{}
	if id := strings.TrimSpace(getenv("AZURE_CLIENT_ID")); id != "" {
		miOpts.ID = azidentity.ClientID(id)
	}
	cred, err := azidentity.NewManagedIdentityCredential(miOpts)
	if err != nil {
		return nil, nil, fmt.Errorf("managed identity: %w", err)
	}
	d := azdetector.Deps{Credential: cred, Logger: log}
	if c.ARMEndpoint != "" {
		d.ARM.Cloud = cloud.Configuration{
			ActiveDirectoryAuthorityHost: cloud.AzurePublic.ActiveDirectoryAuthorityHost,
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{cloud.ResourceManager: {
				Endpoint: c.ARMEndpoint, Audience: cloud.AzurePublic.Services[cloud.ResourceManager].Audience,
			}},
		}
	}
	if c.Table != "" {
		if d.AWS, err = awsConfig(c, cred, log); err != nil {
			return nil, nil, err
		}
	}
	if c.RemediationTopic != "" {
		// The identity holds EventGrid Data Sender on the topic: no key.
		topic, err := azeventgrid.NewClient(c.RemediationTopic, cred, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("remediation topic: %w", err)
		}
		d.Topic = topic
	}
	f, err := azdetector.New(ctx, c, d)
	if err != nil {
		return nil, nil, err
	}
	return f.Detector, f.Executor, nil
}

// awsConfig exchanges the identity's token for AWS credentials of the
// posture table's role; credentials are fetched on the first store call.
func awsConfig(c azdetector.Config, cred azcore.TokenCredential, log *slog.Logger) (aws.Config, error) {
	var src awsfed.TokenSource
	if c.AWSTokenFile != "" {
		src = awsfed.TokenFile(c.AWSTokenFile)
	} else {
		mi, err := azuremi.New(cred, c.AWS.Audience)
		if err != nil {
			return aws.Config{}, err
		}
		src = mi
	}
	return awsfed.Config(awsfed.Options{
		Region: c.AWS.Region, RoleARN: c.AWS.RoleARN, RoleSessionName: sessionName,
		TokenSource: src, BaseEndpoint: c.AWSEndpoint, Logger: log,
	})
}
