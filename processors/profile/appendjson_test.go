package profile_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/profile"
)

var _ processors.StateAppender = profile.State{}

// AppendJSON must write exactly what json.Marshal writes, for every state.
func TestAppendJSONMatchesMarshal(t *testing.T) {
	odd := []string{"", "a", "<b>&", "quote\"back\\slash", "tab\t", "\u2028\u2029", "é😀", "bad \xff utf-8", "\x7f", "ctl\x01"}
	states := []profile.State{
		{},
		{Following: []string{}, Followers: []string{}},
		{Username: "Alice", Following: []string{"bob"}, Followers: nil},
		{Username: "<x>", Following: odd, Followers: odd},
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		s := profile.State{Username: odd[rnd.IntN(len(odd))], Following: []string{}}
		for range rnd.IntN(30) {
			s.Following = append(s.Following, fmt.Sprintf("u-%d", rnd.IntN(1000)))
			s.Followers = append(s.Followers, odd[rnd.IntN(len(odd))])
		}
		states = append(states, s)
	}
	for _, s := range states {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.AppendJSON([]byte("prefix"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Fatalf("AppendJSON(%#v)\n= %s\nwant prefix%s", s, got, want)
		}
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	s := profile.State{Username: "hot", Following: []string{}, Followers: make([]string, 10000)}
	for i := range s.Followers {
		s.Followers[i] = fmt.Sprintf("user-%06d", i)
	}
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.AppendJSON(nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
