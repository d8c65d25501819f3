package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/feed"
	"github.com/upkeep/upkeep/internal/progress"
	"github.com/upkeep/upkeep/updates"
)

func feedCommand() *cli.Command {
	return &cli.Command{
		Name:  "feed",
		Usage: "publish update zips as a feed, and fetch from one",
		Description: "A feed is a static folder any HTTP server can serve: index.json (signed in\n" +
			"index.json.minisig), the zips and their .minisig files.",
		Subcommands: []*cli.Command{
			{
				Name:      "build",
				Usage:     "write a feed folder from a folder of update zips",
				ArgsUsage: "ZIPDIR",
				Description: "Checks each zip of ZIPDIR as an update, copies it and its .minisig into\n" +
					"FEEDDIR, and writes FEEDDIR/index.json: one entry per zip, read from its\n" +
					"manifest, with its size and sha256; the serial is one more than the index\n" +
					"already in FEEDDIR. --sign signs index.json, and each zip that has no\n" +
					".minisig of its own (an encrypted key's password is read from\n" +
					"UPKEEP_KEY_PASSWORD). The same zips at the same time (SOURCE_DATE_EPOCH)\n" +
					"give the same bytes.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "the feed folder `FEEDDIR` (required)"},
					&cli.StringFlag{Name: "sign", Usage: "sign with the minisign secret key in `KEY`"},
					&cli.StringFlag{Name: "expires", Value: "14d", Usage: "the index is refused this `DURATION` after the build (like 14d, 36h)"},
					&cli.StringFlag{Name: "app", Usage: "the application's `NAME` (default: the previous index's, or FEEDDIR's name)"},
				},
				Action: anywhere(runFeedBuild),
			},
			{
				Name:  "fetch",
				Usage: "download what a feed offers this root into Updates_Pending",
				Description: "Downloads the feed's index.json and refuses it unless a trusted key signed it\n" +
					"(upkeep keys trust), when it has expired (unless --allow-expired), and when\n" +
					"its serial is lower than the last one this root accepted from that URL\n" +
					"(.upkeep/feed.json). Then fetches, for each installed pack, the newest\n" +
					"version its upgrades_from and requires allow, and new packs only when named\n" +
					"with --pack. Downloads resume where an earlier run stopped\n" +
					"(Updates_Pending/.incoming); only a zip whose size, sha256, signature and\n" +
					"manifest match the index is moved into Updates_Pending. Nothing is\n" +
					"installed: the next start with --install-updates does that.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "feed", EnvVars: []string{"UPKEEP_FEED"}, Usage: "the feed's `URL` (its index.json, or the folder holding it)"},
					&cli.StringSliceFlag{Name: "pack", Usage: "also fetch the pack `NAME`, not installed yet (repeatable)"},
					&cli.BoolFlag{Name: "allow-expired", Usage: "accept an index past its expiry"},
					&cli.DurationFlag{Name: "stall-timeout", Value: feed.DefaultStallTimeout, Usage: "give up on a transfer that receives nothing for this long"},
					&cli.IntFlag{Name: "retries", Value: feed.DefaultRetries, Usage: "attempts in a row without progress before a download gives up"},
				},
				Before: before(feedFetchUsage),
				Action: action(runFeedFetch),
			},
		},
	}
}

func runFeedBuild(c *cli.Context, g *GlobalOptions) error {
	dir, err := oneArg(c, "ZIPDIR")
	if err != nil {
		return err
	}
	out := c.String("output")
	if out == "" {
		return usageError("feed build needs -o FEEDDIR")
	}
	expiry, err := parseExpiry(c.String("expires"))
	if err != nil {
		return usageError("--expires %q: %v", c.String("expires"), err)
	}
	now := time.Now()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return usageError("SOURCE_DATE_EPOCH %q: not a number of seconds", s)
		}
		now = time.Unix(n, 0)
	}
	password := ""
	if key := c.String("sign"); key != "" {
		if password, err = keyPassword(g, key); err != nil {
			return err
		}
	}
	ix, err := feed.Build(feed.BuildOptions{ZipDir: dir, OutDir: out, SignKey: c.String("sign"),
		Password: password, Expiry: expiry, App: c.String("app"), Now: now})
	if err != nil {
		return signingError(err)
	}
	if g.JSON {
		return printJSON(g.Stdout, struct {
			Dir     string       `json:"dir"`
			App     string       `json:"app"`
			Serial  int64        `json:"serial"`
			Expires time.Time    `json:"expires"`
			Signed  bool         `json:"signed"`
			Updates []feed.Entry `json:"updates"`
		}{out, ix.App, ix.Serial, ix.Expires, c.String("sign") != "", ix.Updates})
	}
	if !g.Quiet {
		fmt.Fprintf(g.Stdout, "wrote %s/%s: app %s, serial %d, %d updates, expires %s\n",
			out, feed.IndexName, ix.App, ix.Serial, len(ix.Updates), ix.Expires.Format(time.RFC3339))
		for _, e := range ix.Updates {
			fmt.Fprintf(g.Stdout, "  %s %s  %s  %s\n", e.Pack, e.Version, e.URL, progress.FormatBytes(e.Size))
		}
		if c.String("sign") == "" {
			fmt.Fprintf(g.Stdout, "not signed: roots refuse it until index.json.minisig is there (--sign KEY)\n")
		}
	}
	return nil
}

// parseExpiry reads a duration in days ("14d") or as Go writes them ("36h").
func parseExpiry(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return 0, errors.New("want a positive number of days like 14d, or hours like 36h")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errors.New("want a positive duration like 14d or 36h")
	}
	return d, nil
}

// feedOptions reads the fetch flags of a command.
func feedOptions(c *cli.Context, g *GlobalOptions) (updates.FeedOptions, error) {
	url := c.String("feed")
	if url == "" {
		return updates.FeedOptions{}, usageError("name the feed with --feed URL or UPKEEP_FEED")
	}
	fo := updates.FeedOptions{Feed: url, Packs: c.StringSlice("pack"), AllowExpired: c.Bool("allow-expired")}
	fo.Client.StallTimeout = c.Duration("stall-timeout")
	fo.Client.Retries = c.Int("retries")
	if !g.Quiet && !g.JSON {
		fo.Progress = g.Stderr
	}
	return fo, nil
}

func feedFetchUsage(c *cli.Context) error {
	if c.Args().Present() {
		return usageError("feed fetch takes no arguments; name the feed with --feed URL")
	}
	if c.String("feed") == "" {
		return usageError("name the feed with --feed URL or UPKEEP_FEED")
	}
	return nil
}

func runFeedFetch(c *cli.Context, g *GlobalOptions) error {
	scan := g.scanOptions()
	fo, err := feedOptions(c, g)
	if err != nil {
		return err
	}
	res, err := updates.Fetch(c.Context, updates.FetchOptions{ScanOptions: scan, FeedOptions: fo, LockTimeout: g.LockTimeout})
	if res != nil {
		if g.JSON {
			if jerr := printJSON(g.Stdout, res); jerr != nil {
				return jerr
			}
		} else if !g.Quiet {
			writeFetchText(g.Stdout, res)
		}
	}
	var refused *feed.RefusedError
	if errors.As(err, &refused) && refused.Hint != "" {
		return withHint(err, "%s", refused.Hint)
	}
	return err
}

// writeFetchText says what a fetch did, one line per zip.
func writeFetchText(w io.Writer, res *feed.Result) {
	fmt.Fprintf(w, "feed %s: serial %d, expires %s\n", res.URL, res.Serial, res.Expires.Format(time.RFC3339))
	for _, f := range res.Fetched {
		how := ""
		if f.Resumed > 0 {
			how = fmt.Sprintf(" (resumed after %s)", progress.FormatBytes(f.Resumed))
		}
		fmt.Fprintf(w, "fetched %s: %s %s, %s%s\n", f.File, f.Pack, f.Version, progress.FormatBytes(f.Size), how)
	}
	for _, name := range res.Pending {
		fmt.Fprintf(w, "already pending: %s\n", name)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(w, "left out: %s %s: %s\n", s.Pack, s.Version, s.Reason)
	}
	if len(res.Fetched)+len(res.Pending)+len(res.Skipped)+len(res.Failed) == 0 {
		fmt.Fprintln(w, "nothing new for this root")
	}
}
