package server

import (
	"fmt"

	"github.com/containerd/errdefs"

	imagesapi "github.com/containerd/containerd/api/services/images/v1"

	imagesv1 "berth.dev/proto/berth/images/v1"
	"berth.dev/services/imaged/internal/archive"
	"berth.dev/services/imaged/internal/pull"
)

// streamReader turns received chunks into a reader.
type streamReader struct {
	ss   imagesv1.Images_ImportServer
	buf  []byte
	opts *imagesv1.ImportOptions
}

func (r *streamReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		msg, err := r.ss.Recv()
		if err != nil {
			return 0, err
		}
		if msg.Options != nil && r.opts == nil {
			r.opts = msg.Options
		}
		r.buf = msg.Data
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// Import records the images of an uploaded archive.
func (s *BerthImages) Import(ss imagesv1.Images_ImportServer) error {
	r := &streamReader{ss: ss}
	first, err := ss.Recv()
	if err != nil {
		return err
	}
	r.opts, r.buf = first.Options, first.Data
	if r.opts == nil {
		r.opts = &imagesv1.ImportOptions{}
	}
	plat, err := pull.ParsePlatform(r.opts.Platform)
	if err != nil {
		return err
	}
	imgs, cleanup, err := archive.Read(r, s.Tmp, plat)
	if err != nil {
		return err
	}
	defer cleanup()
	resp := &imagesv1.ImportResponse{}
	for _, img := range imgs {
		if img.Name == "" {
			continue // nothing to record it under
		}
		if err := s.Puller.Store(ss.Context(), img.Name, img.Image, r.opts.Snapshotter, r.opts.SkipUnpack, nil); err != nil {
			return fmt.Errorf("import %s: %w", img.Name, err)
		}
		resp.Names = append(resp.Names, img.Name)
	}
	if len(resp.Names) == 0 {
		return fmt.Errorf("archive names no image: %w", errdefs.ErrInvalidArgument)
	}
	return ss.SendAndClose(resp)
}

// chunkWriter sends what is written as ExportChunks.
type chunkWriter struct{ ss imagesv1.Images_ExportServer }

func (w chunkWriter) Write(p []byte) (int, error) {
	for off := 0; off < len(p); off += readChunk {
		end := min(off+readChunk, len(p))
		if err := w.ss.Send(&imagesv1.ExportChunk{Data: p[off:end]}); err != nil {
			return off, err
		}
	}
	return len(p), nil
}

// Export streams an OCI layout of the named images.
func (s *BerthImages) Export(req *imagesv1.ExportRequest, ss imagesv1.Images_ExportServer) error {
	if len(req.Names) == 0 {
		return fmt.Errorf("export needs image names: %w", errdefs.ErrInvalidArgument)
	}
	var imgs []*imagesapi.Image
	for _, n := range req.Names {
		img, err := s.Images.Get(ss.Context(), n)
		if err != nil {
			return err
		}
		imgs = append(imgs, img)
	}
	return archive.Export(ss.Context(), s.Puller.Content, imgs, chunkWriter{ss})
}
