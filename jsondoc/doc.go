// Package jsondoc is upkeep's JSON documents: one producer for each, used
// by the CLI's --json and by the admin pages' API under /api/, so that the
// two print the same bytes for the same root and database (docs/json.md
// describes each document).
//
// [Marshal] writes any document by the contract: "json_format": 1 first,
// snake_case keys, [] for empty lists, times in UTC, no HTML escaping.
// The producers turn what the library returns into documents:
// [NewDBStatus] (db status, GET /api/status), [NewBackups] (backups list,
// GET /api/backups), [ReadHistory] (history, GET /api/history). The check
// report (updates list, GET /api/report) is [updates.Report] itself.
//
// jsondoc imports updates and the packages below it; the CLI and admin
// import it.
package jsondoc
