package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackageDocs checks that every package has exactly one package doc.
func TestPackageDocs(t *testing.T) {
	for _, root := range []string{"../../internal", "."} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			if d.Name() == "testdata" {
				return filepath.SkipDir
			}
			fset := token.NewFileSet()
			pkgs, err := parser.ParseDir(fset, p, func(fi fs.FileInfo) bool {
				return !strings.HasSuffix(fi.Name(), "_test.go")
			}, parser.ParseComments|parser.PackageClauseOnly)
			if err != nil {
				t.Errorf("%s: %v", p, err)
				return nil
			}
			for name, pkg := range pkgs {
				docs := 0
				for _, f := range pkg.Files {
					if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package "+name) || f.Doc != nil && name == "main" && strings.HasPrefix(f.Doc.Text(), "Command ") {
						docs++
					}
				}
				if docs != 1 {
					t.Errorf("package %s in %s has %d package docs, want 1", name, p, docs)
				}
			}
			return nil
		})
	}
}
