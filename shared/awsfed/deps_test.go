package awsfed

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoOtherCloudSDK: awsfed goes into the Azure and the GCP
// functions, so it must link AWS's SDK only; each cloud's token source
// lives in a subpackage (azuremi) that only its cloud's function imports.
func TestLinksNoOtherCloudSDK(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 || !strings.Contains(string(out), "github.com/aws/aws-sdk-go-v2/credentials/stscreds") {
		t.Fatalf("dependency listing is wrong: %v", deps)
	}
	for _, p := range deps {
		for _, forbidden := range []string{"github.com/Azure/", "github.com/AzureAD/", "cloud.google.com/", "google.golang.org/api/", "github.com/googleapis/"} {
			if strings.HasPrefix(p, forbidden) {
				t.Errorf("awsfed links %s", p)
			}
		}
	}
}
