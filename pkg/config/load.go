package config

import (
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"github.com/caarlos0/env/v11"
)

// Load fills cfg (a pointer to a struct) from the environment, then from the
// command line. Flags: --root, --state, --log-level when cfg embeds Common,
// plus whatever the caller registered on fs, and --print-config, which makes
// Load print the effective configuration to w and return printed=true.
func Load(cfg any, common *Common, fs *flag.FlagSet, args []string, w io.Writer) (printed bool, err error) {
	return load(cfg, common, fs, args, env.ToMap(os.Environ()), w)
}

// load is Load with the environment given, so tests see only the variables
// they set and never the caller's.
func load(cfg any, common *Common, fs *flag.FlagSet, args []string, environ map[string]string, w io.Writer) (printed bool, err error) {
	if environ == nil {
		environ = map[string]string{} // env would fall back to the process's
	}
	if err := env.ParseWithOptions(cfg, env.Options{Environment: environ}); err != nil {
		return false, fmt.Errorf("config from environment: %w", err)
	}
	if common != nil {
		fs.StringVar(&common.Root, "root", common.Root, "root of persistent data (BERTH_ROOT)")
		fs.StringVar(&common.State, "state", common.State, "runtime state dir (BERTH_STATE)")
		fs.StringVar(&common.LogLevel, "log-level", common.LogLevel, "log level (BERTH_LOG_LEVEL)")
	}
	print := fs.Bool("print-config", false, "print the effective configuration and exit")
	if err := fs.Parse(args); err != nil {
		return false, err
	}
	if *print {
		Print(w, cfg)
		return true, nil
	}
	return false, nil
}

// Print writes one line per variable: NAME=value followed by its doc.
func Print(w io.Writer, cfg any) {
	printStruct(w, reflect.Indirect(reflect.ValueOf(cfg)), "")
}

func printStruct(w io.Writer, v reflect.Value, prefix string) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, fv := t.Field(i), v.Field(i)
		if !f.IsExported() {
			continue
		}
		if fv.Kind() == reflect.Struct && f.Tag.Get("env") == "" {
			printStruct(w, fv, prefix+f.Tag.Get("envPrefix"))
			continue
		}
		name := strings.Split(f.Tag.Get("env"), ",")[0]
		if name == "" {
			continue
		}
		val := fmt.Sprint(fv.Interface())
		if f.Tag.Get("secret") == "true" && val != "" {
			val = "<redacted>"
		}
		fmt.Fprintf(w, "%s%s=%s\t# %s\n", prefix, name, val, f.Tag.Get("doc"))
	}
}
