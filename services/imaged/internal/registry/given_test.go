package registry

import (
	"encoding/base64"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"
)

func TestGivenAuthenticator(t *testing.T) {
	for _, tc := range []struct {
		name  string
		given Given
		want  *authn.AuthConfig
		err   error
	}{
		{name: "none", given: Given{}},
		{name: "user and password", given: Given{Username: "u", Password: "p"}, want: &authn.AuthConfig{Username: "u", Password: "p"}},
		{name: "auth", given: Given{Auth: base64.StdEncoding.EncodeToString([]byte("u:p:x"))}, want: &authn.AuthConfig{Username: "u", Password: "p:x"}},
		{name: "identity token", given: Given{IdentityToken: "tok"}, want: &authn.AuthConfig{IdentityToken: "tok"}},
		{name: "registry token", given: Given{RegistryToken: "tok"}, want: &authn.AuthConfig{RegistryToken: "tok"}},
		{name: "auth not base64", given: Given{Auth: "!!"}, err: errdefs.ErrInvalidArgument},
		{name: "auth without colon", given: Given{Auth: base64.StdEncoding.EncodeToString([]byte("u"))}, err: errdefs.ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := tc.given.Authenticator()
			if tc.err != nil {
				if !errdefs.IsInvalidArgument(err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if a != nil {
					t.Fatalf("got an authenticator for no credentials")
				}
				return
			}
			got, err := a.Authorization()
			if err != nil {
				t.Fatal(err)
			}
			if *got != *tc.want {
				t.Fatalf("got %+v, want %+v", *got, *tc.want)
			}
		})
	}
}
