package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
)

// normalize turns a short name into the image record's name the way
// containerd and imaged do (docker.io/library, :latest); a name it cannot
// parse is returned as is.
func normalize(ref string) string {
	n, err := reference.ParseDockerRef(ref)
	if err != nil {
		return ref
	}
	return n.String()
}

// getImage finds an image by the name given or its normalized form, and
// otherwise says which stored names look like what was meant.
func getImage(ctx context.Context, client *containerd.Client, ref string) (containerd.Image, error) {
	img, err := client.GetImage(ctx, ref)
	if err == nil || !errdefs.IsNotFound(err) {
		return img, err
	}
	if full := normalize(ref); full != ref {
		if img, err = client.GetImage(ctx, full); err == nil || !errdefs.IsNotFound(err) {
			return img, err
		}
	}
	return nil, imageNotFound(ctx, client, ref)
}

func imageNotFound(ctx context.Context, client *containerd.Client, ref string) error {
	msg := fmt.Sprintf("image %q not found in namespace %q", ref, namespaceOf(ctx))
	var similar []string
	if imgs, err := client.ImageService().List(ctx); err == nil {
		short := ref
		if !strings.Contains(short, ":") && !strings.Contains(short, "@") {
			short += ":latest"
		}
		for _, i := range imgs {
			if strings.HasSuffix(i.Name, "/"+ref) || strings.HasSuffix(i.Name, "/"+short) {
				similar = append(similar, i.Name)
			}
		}
	}
	if len(similar) > 0 {
		msg += fmt.Sprintf("; did you mean the fully qualified name %s?", strings.Join(similar, " or "))
	} else {
		msg += fmt.Sprintf("; pull it first with `berth pull %s` (names are fully qualified: %s)", ref, normalize(ref))
	}
	return problem(errdefs.ErrNotFound, "%s", msg) // msg already says what to do
}

// pullError adds what to try to a failed pull.
func pullError(ref string, err error) error {
	switch {
	case errdefs.IsNotFound(err):
		return fmt.Errorf("%w\nCheck the name (fully qualified: %s) and that the registry has it", err, normalize(ref))
	case errdefs.IsUnauthorized(err) || errdefs.IsPermissionDenied(err):
		return fmt.Errorf("%w\nThe registry refused the node's credentials: add them to the node's auth file ($BERTH_REGISTRY_AUTH_FILE)", err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("pull of %s cancelled", ref)
	}
	return err
}
