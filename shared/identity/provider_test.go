//go:build provider

package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seckill/seckill/shared/proctest"
)

// TestRealProvider verifies tokens of a real OpenID Connect provider, ory
// hydra (make provider-check builds it): its discovery document and JWKS,
// and client-credentials access tokens it signs as JWTs. A token for the
// configured audience names its client as the customer; one for another
// audience is refused; and with hydra SIGKILLed, a token under the key
// already fetched still verifies while one under an unknown key is
// try-again.
func TestRealProvider(t *testing.T) {
	bin := os.Getenv("SECKILL_HYDRA")
	if bin == "" {
		t.Fatal("SECKILL_HYDRA names no hydra binary: run make provider-check, which builds it")
	}
	public, admin := proctest.FreePort(t), proctest.FreePort(t)
	issuer := "http://127.0.0.1:" + public
	proc := proctest.StartArgs(t, bin, []string{"serve", "all", "--dev"},
		"DSN=memory", "URLS_SELF_ISSUER="+issuer, "STRATEGIES_ACCESS_TOKEN=jwt",
		"SERVE_PUBLIC_PORT="+public, "SERVE_PUBLIC_HOST=127.0.0.1", "SERVE_ADMIN_PORT="+admin, "SERVE_ADMIN_HOST=127.0.0.1",
		"SECRETS_SYSTEM=seckill-provider-check-secret-0123456789", "LOG_LEVEL=warn")
	proctest.WaitHTTP(t, "http://127.0.0.1:"+admin+"/health/ready")

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	var disc struct {
		Issuer string `json:"issuer"`
	}
	getJSON(t, client, issuer+"/.well-known/openid-configuration", &disc)
	token := func(audience string) (string, string) {
		body := fmt.Sprintf(`{"grant_types":["client_credentials"],"audience":[%q],"access_token_strategy":"jwt","token_endpoint_auth_method":"client_secret_post"}`, audience)
		resp, err := client.Post("http://127.0.0.1:"+admin+"/admin/clients", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			ID     string `json:"client_id"`
			Secret string `json:"client_secret"`
		}
		decode(t, resp, &c)
		form := url.Values{"grant_type": {"client_credentials"}, "audience": {audience}, "client_id": {c.ID}, "client_secret": {c.Secret}}
		resp, err = client.PostForm(issuer+"/oauth2/token", form)
		if err != nil {
			t.Fatal(err)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		decode(t, resp, &tok)
		return c.ID, tok.AccessToken
	}
	id, good := token("seckill")
	otherID, other := token("elsewhere")
	_, spare := token("seckill") // verified only once hydra is gone

	v, err := NewVerifier(Options{Issuer: disc.Issuer, Audience: "seckill"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if c, err := v.Verify(ctx, good); err != nil || c.Subject != id {
		t.Fatalf("hydra's token: got %+v %v, want subject %s", c, err, id)
	}
	if _, err := v.Verify(ctx, other); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "audience") {
		t.Fatalf("a token of client %s for another audience: got %v, want invalid (audience)", otherID, err)
	}
	t.Logf("hydra at %s: client %s verified through discovery and JWKS; another audience refused", disc.Issuer, id)

	_ = proc.Process.Signal(syscall.SIGKILL)
	_ = proc.Wait(t, 10*time.Second)
	if c, err := v.Verify(ctx, spare); err != nil || c.Subject == "" {
		t.Fatalf("a token under the known key with hydra down: got %+v %v", c, err)
	}
	cold, err := NewVerifier(Options{Issuer: disc.Issuer, Audience: "seckill"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cold.Verify(ctx, good); !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("a cold verifier with hydra down: got %v, want ErrKeysUnavailable", err)
	}
}

func getJSON(t *testing.T, c *http.Client, url string, v any) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	decode(t, resp, v)
}

func decode(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var b strings.Builder
		_, _ = fmt.Fprint(&b, resp.Status)
		t.Fatalf("%s %s: %s", resp.Request.Method, resp.Request.URL, b.String())
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
