package labels

import (
	"fmt"
	"testing"
)

func TestUpdate(t *testing.T) {
	cur := map[string]string{"a": "1", "b": "2"}
	got, rest := Update(cur, map[string]string{"a": "9", "c": "3"}, []string{"labels.a", "labels.b", "labels.c", "name"})
	if fmt.Sprint(got) != "map[a:9 c:3]" || fmt.Sprint(rest) != "[name]" {
		t.Fatalf("got %v rest %v", got, rest)
	}
	got, _ = Update(map[string]string{"x": "1"}, map[string]string{"y": "2"}, []string{"labels"})
	if fmt.Sprint(got) != "map[y:2]" {
		t.Fatalf("replace: %v", got)
	}
}
