// sqlite::Database: the one SQLite file of the embedded mode (DIR/thumbflow.db), shared by the
// queue tables and the object index, and by several processes at once.
//
// Durability: the file is in WAL mode with synchronous=FULL, so a Write() that returned OK is
// on disk (the WAL is fsynced before COMMIT returns). Other processes may use the same file;
// a process waits up to the busy timeout (default 10 s) for another process's write lock.
//
// Writes are group-committed: concurrent Write() calls of one Database are run one after
// another by whichever caller currently leads, all inside ONE transaction (one fsync for
// all of them). Each function runs inside its own SAVEPOINT, so a function that returns a
// non-OK status rolls back only its own changes; the others still commit. Write() returns
// only once the COMMIT is durable (or failed; then every function of the batch gets the
// commit's error).
//
// Reads run on a small pool of reader connections, each inside its own read transaction
// (a consistent snapshot); in WAL mode readers never block the writer nor the reverse.
//
// Schema: each component owns its tables and creates or upgrades them with
// Transaction::EnsureSchema(component, migrations), which is idempotent and safe when several
// processes start at once.
//
// Thread-safety: Database is thread-safe. A Transaction and the Statements it hands out
// belong to the function they were passed to and are valid only while it runs; they must
// not be kept nor shared with other threads. A function passed to Write() must not call
// Write() (or Read()) on the same Database (that would deadlock).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace thumbflow::sqlite {

class Connection;  // one sqlite3* with its statement cache (database.cc)

// A prepared statement, cached by its connection. Obtained from Transaction::Prepare(), which
// resets it and clears its bindings. Parameter and column indexes follow SQLite: bind
// indexes start at 1, column indexes at 0. Errors of Step()/Run() name the statement's SQL.
class Statement {
 public:
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Statement& Bind(int index, std::string_view text);  // copied (SQLITE_TRANSIENT)
  Statement& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Statement& Bind(int index, const std::string& text) {
    return Bind(index, std::string_view(text));
  }
  Statement& BindBlob(int index, std::string_view bytes);
  // Bind without copying (SQLITE_STATIC): the caller keeps the bytes alive and unchanged
  // until the statement has been stepped to its end (Step() returned false) or failed.
  // For hot paths that bind large or many values.
  Statement& BindTextRef(int index, std::string_view text);
  Statement& BindBlobRef(int index, std::string_view bytes);
  Statement& BindNull(int index);

  // Advances to the next row: true when there is one. False when done; the statement is
  // then reset (bindings kept), so it can be bound and stepped again. On error it is reset.
  Result<bool> Step();
  // Runs a statement that returns no rows (INSERT/UPDATE/DELETE) to completion (and resets
  // it, as Step() does).
  Status Run();
  // Resets a statement left in the middle of its rows and clears its bindings.
  void Reset();

  int64_t ColumnInt(int column) const;
  std::string ColumnText(int column) const;  // also for blobs; NULL reads as ""
  bool ColumnIsNull(int column) const;

 private:
  friend class Connection;
  Statement(sqlite3* db, sqlite3_stmt* stmt, std::string sql);
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string sql_;
  Status bind_error_;  // first failing Bind(), reported by Step()/Run()
};

class Database;

// The view a Read() or Write() function has of the database.
class Transaction {
 public:
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // A cached prepared statement for `sql`, reset and with bindings cleared. Preparing the
  // same SQL again in the same function hands out the same object (reset again).
  Result<Statement*> Prepare(std::string_view sql);
  // Runs one or more statements that return no rows (DDL, PRAGMA, ...).
  Status Exec(std::string_view sql);
  // Rows changed by the most recent INSERT/UPDATE/DELETE of this transaction.
  int64_t Changes() const;

  // Write transactions only. `fn` runs after this function's changes are durably committed
  // (not when they are rolled back), on the committing thread, before Write() returns.
  void OnCommit(std::function<void()> fn);
  // Write transactions only. After a durable commit, every listener added with
  // Database::AddCommitListener() is called once with `topic` (for example "queue:NAME"),
  // so in-process waiters can wake at once.
  void Signal(std::string topic);

  // Brings `component`'s tables to the last version: runs migrations[v..] where v is the
  // version recorded for `component` (0 when none), then records the new version. Each
  // migration is one or more SQL statements. Idempotent; cheap once done (cached per
  // Database after commit). In a read transaction it fails unless already up to date.
  Status EnsureSchema(const std::string& component, const std::vector<std::string>& migrations);

  bool is_write() const { return write_; }
  Database& database() const { return *database_; }

 private:
  friend class Database;
  Transaction(Database* database, Connection* connection, bool write)
      : database_(database), connection_(connection), write_(write) {}
  Database* database_;
  Connection* connection_;
  bool write_;
  std::vector<std::function<void()>> on_commit_;
  std::vector<std::string> topics_;
  std::vector<std::string> migrated_;
};

struct DatabaseOptions {
  int busy_timeout_ms = 10'000;  // how long to wait for another process's lock
  int max_readers = 4;           // reader connections kept open
  int max_batch = 512;           // most Write() functions sharing one commit
};

class Database {
 public:
  // Opens the file at `path`, creating it when missing (its folder must exist).
  // Sets WAL, synchronous=FULL, foreign keys on and the busy timeout. Failures:
  // Unavailable (retryable) when the file is locked beyond the busy timeout, Internal or
  // InvalidArgument naming the path otherwise.
  static Result<std::shared_ptr<Database>> Open(const std::string& path,
                                                const DatabaseOptions& options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs `fn` inside the group commit described above; returns fn's status (a non-OK one
  // means fn's changes were rolled back), or the commit's error. Exceptions thrown by `fn`
  // are caught and become Internal errors.
  Status Write(const std::function<Status(Transaction&)>& fn);
  // Runs `fn` in a read-only snapshot on a reader connection.
  Status Read(const std::function<Status(Transaction&)>& fn);

  // Listeners are called after each durable commit once per topic signalled in it, on the
  // committing thread; they must be quick and must not call Write(). Returns an id for
  // RemoveCommitListener.
  using CommitListener = std::function<void(const std::string& topic)>;
  int64_t AddCommitListener(CommitListener listener);
  void RemoveCommitListener(int64_t id);

  const std::string& path() const { return path_; }
  // How many COMMITs (fsyncs) and Write() functions this object ran; for benchmarks.
  int64_t commit_count() const;
  int64_t write_count() const;

 private:
  struct Impl;
  struct WriteRequest;
  Database(std::string path, std::unique_ptr<Impl> impl);
  // Runs the functions of `batch` in one transaction and commits it (the leader's part of
  // Write()); sets each request's status.
  void RunBatch(const std::vector<WriteRequest*>& batch);
  friend class Transaction;
  std::string path_;
  std::unique_ptr<Impl> impl_;
};

// Maps an SQLite result code to a Status whose message names `operation` (and, through
// sqlite3_errmsg, the detail). SQLITE_BUSY/LOCKED become Unavailable (retryable), FULL
// NoSpaceError (core/disk.h: retryable, reason "no-space"), CORRUPT/NOTADB DataLoss,
// CANTOPEN/PERM/READONLY/AUTH as PermissionDenied or Unavailable, CONSTRAINT
// AlreadyExists/FailedPrecondition, everything else Internal.
Status SqliteError(sqlite3* db, int rc, std::string_view operation);

}  // namespace thumbflow::sqlite
