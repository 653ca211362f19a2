package images

import (
	"context"
	"fmt"
	"time"

	snapshotsapi "github.com/containerd/containerd/api/services/snapshots/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ImageFsInfo reports the snapshotter's layers (first, as the kubelet reads
// the first image filesystem) and the content store's blobs.
func (s *Service) ImageFsInfo(ctx context.Context, _ *runtimeapi.ImageFsInfoRequest) (*runtimeapi.ImageFsInfoResponse, error) {
	ctx = nsContext(ctx)
	now := time.Now().UnixNano()
	resp := &runtimeapi.ImageFsInfoResponse{}
	if s.snapshots != nil {
		size, inodes, err := s.snapshotUsage(ctx)
		if err != nil {
			return nil, err
		}
		resp.ImageFilesystems = append(resp.ImageFilesystems, usage(now, s.cfg.SnapshotsDir, size, inodes))
	}
	size, count, err := s.imaged.ContentUsage(ctx)
	if err != nil {
		return nil, fmt.Errorf("content usage: %w", err)
	}
	resp.ImageFilesystems = append(resp.ImageFilesystems, usage(now, s.cfg.ContentDir, size, count))
	return resp, nil
}

func usage(now int64, dir string, size, inodes int64) *runtimeapi.FilesystemUsage {
	return &runtimeapi.FilesystemUsage{
		Timestamp:  now,
		FsId:       &runtimeapi.FilesystemIdentifier{Mountpoint: dir},
		UsedBytes:  &runtimeapi.UInt64Value{Value: uint64(size)},
		InodesUsed: &runtimeapi.UInt64Value{Value: uint64(inodes)},
	}
}

// snapshotUsage sums every snapshot's own usage. Committed snapshots never
// change, so their figures are measured once; only active ones are walked
// on every call.
func (s *Service) snapshotUsage(ctx context.Context) (size, inodes int64, err error) {
	infos, err := s.snapshots.List(ctx, s.cfg.Snapshotter)
	if err != nil {
		return 0, 0, fmt.Errorf("list snapshots: %w", err)
	}
	seen := map[string]bool{}
	for _, info := range infos {
		committed := info.Kind == snapshotsapi.Kind_COMMITTED
		seen[info.Name] = true
		if v, ok := s.usage.Load(info.Name); ok && committed {
			u := v.([2]int64)
			size, inodes = size+u[0], inodes+u[1]
			continue
		}
		sz, in, err := s.snapshots.Usage(ctx, s.cfg.Snapshotter, info.Name)
		if err != nil {
			continue // removed meanwhile
		}
		if committed {
			s.usage.Store(info.Name, [2]int64{sz, in})
		}
		size, inodes = size+sz, inodes+in
	}
	s.usage.Range(func(k, _ any) bool {
		if !seen[k.(string)] {
			s.usage.Delete(k)
		}
		return true
	})
	return size, inodes, nil
}
