package pause

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"
)

func TestLayerHoldsThePauseProgram(t *testing.T) {
	layer := layerTar([]byte("#!pause"))
	tr := tar.NewReader(bytes.NewReader(layer))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatal("no /pause in the layer")
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "pause" {
			b, _ := io.ReadAll(tr)
			if string(b) != "#!pause" || h.Mode&0o111 == 0 {
				t.Fatalf("pause: %q mode %o", b, h.Mode)
			}
			return
		}
	}
}
