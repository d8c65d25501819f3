package signing_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/upkeep/upkeep/internal/signing"
)

func Example() {
	root, _ := os.MkdirTemp("", "upkeep-example")
	defer os.RemoveAll(root)
	pending := filepath.Join(root, "Updates_Pending")
	trusted := filepath.Join(root, ".upkeep", "trusted")
	os.Mkdir(pending, 0o755)

	// The publisher makes a key pair once, and signs each update zip.
	pub, sec := filepath.Join(root, "release.pub"), filepath.Join(root, "release.key")
	if _, err := signing.GenerateKey(pub, sec, ""); err != nil {
		fmt.Println(err)
		return
	}
	zip := filepath.Join(pending, "blog-1.4.0.zip")
	os.WriteFile(zip, []byte("an update"), 0o644)
	if _, err := signing.SignFile(sec, "", zip); err != nil {
		fmt.Println(err)
		return
	}

	// With no key trusted, nothing is refused but nothing is proven.
	k, _ := signing.LoadKeyring(trusted, nil)
	res := k.Check(zip)
	fmt.Println(res.State, res.Refused)

	// The application's owner trusts the publisher's key.
	if _, err := signing.Trust(pub, trusted); err != nil {
		fmt.Println(err)
		return
	}
	k, _ = signing.LoadKeyring(trusted, nil)
	res = k.Check(zip)
	fmt.Println(res.State, res.Refused)

	// From then on an unsigned zip is refused.
	unsigned := filepath.Join(pending, "shop-2.0.0.zip")
	os.WriteFile(unsigned, []byte("another update"), 0o644)
	res = k.Check(unsigned)
	fmt.Println(res.State, res.Refused)
	fmt.Println(res.Problem)
	// Output:
	// unverified false
	// valid false
	// unsigned true
	// shop-2.0.0.zip: not signed, and 1 key is trusted
}
