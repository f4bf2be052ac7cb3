// Package gateway is the HTTP API of sourced: it turns requests into
// commands on Kafka and answers with their results, and reads snapshots
// (goka Views of the tables) and view documents (views.Store).
//
// Routes (all JSON; every error is {"code", "message"}):
//
//	POST /v1/{aggregate}/{id}/{command}             send a command, wait for its result
//	GET  /v1/{aggregate}/{id}[?min_version=N]        the snapshot (read-your-writes)
//	GET  /v1/{aggregate}/{id}/commands/{command_id}  poll a command's result
//	GET  /v1/views/{view}/{id}[?min_version=N]       one view document
//	GET  /v1/views/{view}?q=&filter=f:v&sort=f:asc&size=&after=
//	                                                 search a view, search_after paging
//	POST /v1/admin/views/{view}/rebuild[?keep_old=true]
//	                                                 rebuild a view here, progress as NDJSON
//
// # Commands
//
// The body is the command's data (Content-Type application/json; empty
// for commands without data). Idempotency-Key becomes the command id (a
// UUIDv7 otherwise); If-Match: "5" (or 5) becomes expected_version. The
// gateway checks only the route, the ids (1 to 128 characters of
// [A-Za-z0-9._:-]), the headers, the JSON syntax and the size (Config.MaxBody,
// 1 MiB); the processor decides the rest. The answer is codecs.Result's
// JSON (command_id, aggregate_id, status, version, events, error) with an
// ETag of the version:
//
//	200 accepted, or duplicate with Idempotent-Replayed: true (the stored result)
//	409 conflict (expected_version did not match), 422 rejected; both also carry
//	    the result's error code and message at the top level
//	202 status "pending": the result did not arrive within Config.ResultWait
//	    (or the client's "Prefer: wait=N" seconds, RFC 7240; "wait=0" or
//	    "respond-async" do not wait); Location names the poll route
//	400 invalid_id, invalid_idempotency_key, invalid_if_match, malformed_json
//	404 unknown_aggregate, unknown_command; 413 too_large; 415 unsupported_media_type
//	503 not_ready (results not read yet), unavailable (Kafka refused the
//	    write; retry with the same Idempotency-Key), shutting_down
//
// Every replica reads every partition of each <aggregate>-results topic
// without a consumer group, from the end offsets listed at start (before
// Ready reports ready), and hands results to the waiting requests by
// command id; a request registers before it produces, so no result is
// missed. Results seen are kept (Config.RecentResults) for the poll route,
// which falls back to the snapshot's recent commands, and answers 202 for a
// command this replica sent whose result has not arrived, 404
// command_not_found otherwise.
//
// # Reads
//
// GET /v1/{aggregate}/{id} reads a goka View of the table (LevelDB stores
// under Config.StoreDir, with package state's clean-close checkpoint):
// {aggregate, aggregate_id, version, schema, state, updated_at} with an
// ETag (If-None-Match gives 304). With min_version=N it waits (at most
// Config.ReadWait, or less with Prefer: wait) until the View shows version
// N or later, and answers 504 not_caught_up rather than older state; an
// aggregate that does not exist is 404 not_found. View documents are read
// through the view's alias in the same way: {id, index, version, source}.
//
// A search answers {total, hits, next}. filter=field:value (repeatable) is
// an exact match typed by the view's mapping (keyword, long, double,
// boolean, date); sort=field[:asc|desc] (repeatable or comma-separated)
// sorts on those types or _score; size is 1 to 100 (default 10). The sort
// always ends with a unique tiebreaker (the view's "id" field, or
// "aggregate_id" then "version" for event views), so pages neither skip nor
// repeat hits. next is an opaque cursor (base64url of the last hit's sort
// values and a hash of the query) passed back as after=; a cursor used with
// another query is refused with 400 invalid_cursor. There is no from/size
// paging. Without a store the view routes answer 503 no_view_store.
//
// # Auth
//
// With Config.Tokens every /v1/ route needs "Authorization: Bearer
// <token>": 401 unauthorized without a known token, 403 forbidden for a
// read token on a POST and for a read or write token on /v1/admin/ (a
// rebuild replays a whole topic: it needs an admin token). Tokens are
// compared in constant time and never logged.
//
// # Overload
//
// A command is shed before it is decoded or produced, so the client may
// send it again with the same Idempotency-Key: 503 processors_behind while
// its aggregate's processors lag by more than Config.MaxCommandLag, 429
// overloaded while the in-flight bound is reached. The bound is
// Config.MaxInFlight, adapted to Config.TargetLatency by the limiter
// (limiter.go): it shrinks while answers are slower than the target, never
// below what the pipeline answers within it, and grows back with demand.
//
// # Shutdown
//
// When Run's context is done, new requests get 503 shutting_down while the
// ones in flight finish (at most Config.DrainTimeout); only then do the
// results readers stop.
//
// # Locks
//
// results.mu guards the waiters and the results cache; rebuildMu guards
// the running rebuilds. Neither is held while taking the other. The
// limiter is lock-free; only adaptInFlight's goroutine moves its bound.
package gateway
