package images

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ImageStatus answers with a nil image, and no error, for an image that is
// not there: the kubelet then pulls it.
func (s *Service) ImageStatus(ctx context.Context, req *runtimeapi.ImageStatusRequest) (*runtimeapi.ImageStatusResponse, error) {
	img, err := s.Resolve(ctx, req.GetImage().GetImage())
	if errdefs.IsNotFound(err) {
		return &runtimeapi.ImageStatusResponse{}, nil
	}
	if err != nil {
		return nil, err
	}
	resp := &runtimeapi.ImageStatusResponse{Image: img.cri()}
	if req.Verbose {
		info, err := json.Marshal(verboseInfo{ChainID: img.ChainID, ImageSpec: img.spec})
		if err != nil {
			return nil, err
		}
		resp.Info = map[string]string{"info": string(info)}
	}
	return resp, nil
}

type verboseInfo struct {
	ChainID   string `json:"chainID"`
	ImageSpec any    `json:"imageSpec"`
}

// ListImages lists every image, or the one the filter's reference names.
func (s *Service) ListImages(ctx context.Context, req *runtimeapi.ListImagesRequest) (*runtimeapi.ListImagesResponse, error) {
	all, err := s.list(ctx)
	if err != nil {
		return nil, err
	}
	if ref := req.GetFilter().GetImage().GetImage(); ref != "" {
		img := match(all, ref)
		all = all[:0]
		if img != nil {
			all = append(all, img)
		}
	}
	resp := &runtimeapi.ListImagesResponse{Images: make([]*runtimeapi.Image, 0, len(all))}
	for _, img := range all {
		resp.Images = append(resp.Images, img.cri())
	}
	return resp, nil
}

// cri turns the image into the CRI's message.
func (img *Image) cri() *runtimeapi.Image {
	out := &runtimeapi.Image{
		Id:          img.ID,
		RepoTags:    img.RepoTags,
		RepoDigests: img.RepoDigests,
		Size:        img.Size,
		Pinned:      img.pinned,
		Spec:        &runtimeapi.ImageSpec{Image: img.ID},
	}
	uid, name := user(img.Config.User)
	if uid != nil {
		out.Uid = &runtimeapi.Int64Value{Value: *uid}
	}
	out.Username = name
	return out
}

// user splits an image's User ("name", "uid", "uid:gid", "name:group")
// into a numeric uid or a name, as the kubelet's runAsNonRoot check needs.
func user(u string) (*int64, string) {
	u, _, _ = strings.Cut(u, ":")
	if u == "" {
		return nil, ""
	}
	if n, err := strconv.ParseInt(u, 10, 64); err == nil {
		return &n, ""
	}
	return nil, u
}
