package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// EvalContext returns the context every expression of a configuration is
// evaluated in: the functions env("NAME") and file("PATH"), PATH relative to
// baseDir (the config file's directory). Plugin config bodies, decoded later
// against the plugin's schema, must use the same context so that env() and
// file() mean the same everywhere.
func EvalContext(baseDir string) *hcl.EvalContext {
	return &hcl.EvalContext{
		Functions: map[string]function.Function{
			"env":  envFunc,
			"file": fileFunc(baseDir),
		},
	}
}

// envFunc returns the value of an environment variable; an unset variable is
// an error so that a forgotten secret fails `check` instead of becoming "".
var envFunc = function.New(&function.Spec{
	Description: "Returns the value of an environment variable.",
	Params: []function.Parameter{{
		Name: "name",
		Type: cty.String,
	}},
	Type: function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		name := args[0].AsString()
		if name == "" {
			return cty.NilVal, function.NewArgErrorf(0, "the name of the environment variable must not be empty")
		}
		v, ok := os.LookupEnv(name)
		if !ok {
			return cty.NilVal, function.NewArgErrorf(0, "environment variable %q is not set", name)
		}
		return cty.StringVal(v), nil
	},
})

func fileFunc(baseDir string) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the contents of a file, its path relative to the configuration file's directory.",
		Params: []function.Parameter{{
			Name: "path",
			Type: cty.String,
		}},
		Type: function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name := args[0].AsString()
			if name == "" {
				return cty.NilVal, function.NewArgErrorf(0, "the path must not be empty")
			}
			path := name
			if !filepath.IsAbs(path) {
				path = filepath.Join(baseDir, path)
			}
			b, err := readRegular(path)
			if err != nil {
				// The bare cause: the path in a PathError would be absolute
				// and the user wrote a relative one.
				var pe *fs.PathError
				if errors.As(err, &pe) {
					err = pe.Err
				}
				return cty.NilVal, function.NewArgErrorf(0, "cannot read file %q: %s", name, err)
			}
			if !utf8.Valid(b) {
				return cty.NilVal, function.NewArgErrorf(0, "file %q is not valid UTF-8", name)
			}
			return cty.StringVal(string(b)), nil
		},
	})
}

// maxFileSize bounds what file() reads: a configuration value, not a disk.
const maxFileSize = 64 << 20

// readRegular reads a regular file of at most maxFileSize bytes, so that
// file("/dev/zero") or a FIFO cannot hang or exhaust the loader.
func readRegular(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if fi.Size() > maxFileSize {
		return nil, fmt.Errorf("larger than %d MiB", maxFileSize>>20)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("larger than %d MiB", maxFileSize>>20)
	}
	return b, nil
}
