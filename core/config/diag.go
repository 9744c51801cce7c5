package config

import (
	"fmt"
	"io"
	"maps"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// WriteDiagnostics renders diags as text: severity, summary, the file, line
// and the source lines with the subject, then the detail. files holds the
// sources (Loader.Files); a file it lacks is read from disk, so
// WriteDiagnostics(w, nil, diags) works after Load.
func WriteDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics) error {
	all := maps.Clone(files)
	if all == nil {
		all = map[string]*hcl.File{}
	}
	for _, d := range diags {
		if d.Subject == nil {
			continue
		}
		name := d.Subject.Filename
		if _, ok := all[name]; ok {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			all[name] = nil // the writer says "source code not available"
			continue
		}
		// A file that does not parse still gives its bytes for the snippet.
		f, _ := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		if f == nil {
			f = &hcl.File{Bytes: src}
		}
		all[name] = f
	}
	if err := hcl.NewDiagnosticTextWriter(w, all, 0, false).WriteDiagnostics(diags); err != nil {
		return fmt.Errorf("write diagnostics: %w", err)
	}
	return nil
}

// WriteDiagnostics renders diags with the sources this Loader has read.
func (l *Loader) WriteDiagnostics(w io.Writer, diags hcl.Diagnostics) error {
	return WriteDiagnostics(w, l.Files(), diags)
}
