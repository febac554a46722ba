#include "sqlite/database.h"

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "core/disk.h"

namespace thumbflow::sqlite {

Status SqliteError(sqlite3* db, int rc, std::string_view operation) {
  std::string message(operation);
  message += ": ";
  message += sqlite3_errstr(rc);
  if (db != nullptr) {
    const char* detail = sqlite3_errmsg(db);
    if (detail != nullptr && std::string_view(detail) != sqlite3_errstr(rc)) {
      message += " (";
      message += detail;
      message += ")";
    }
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return UnavailableError(std::move(message));
    case SQLITE_FULL:  // the disk (or max_page_count) is full: retryable once space is freed
      return NoSpaceError(std::move(message));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLossError(std::move(message));
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return PermissionDeniedError(std::move(message));
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
      return UnavailableError(std::move(message));
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
        return AlreadyExistsError(std::move(message));
      }
      return FailedPreconditionError(std::move(message));
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
      return InvalidArgumentError(std::move(message));
    default:
      return InternalError(std::move(message));
  }
}

// ---------------------------------------------------------------------------------------
// Statement

Statement::Statement(sqlite3* db, sqlite3_stmt* stmt, std::string sql)
    : db_(db), stmt_(stmt), sql_(std::move(sql)) {}

Statement::~Statement() { sqlite3_finalize(stmt_); }

namespace {
std::string ShortSql(const std::string& sql) {
  return sql.size() > 60 ? sql.substr(0, 60) + "..." : sql;
}
}  // namespace

Statement& Statement::Bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_.ok())
    bind_error_ = SqliteError(db_, rc, "bind " + ShortSql(sql_));
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  int rc =
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_.ok())
    bind_error_ = SqliteError(db_, rc, "bind " + ShortSql(sql_));
  return *this;
}

Statement& Statement::BindBlob(int index, std::string_view bytes) {
  int rc = sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_error_.ok())
    bind_error_ = SqliteError(db_, rc, "bind " + ShortSql(sql_));
  return *this;
}

Statement& Statement::BindTextRef(int index, std::string_view text) {
  // A null pointer would bind NULL, not an empty text.
  const char* data = text.data() != nullptr ? text.data() : "";
  int rc = sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_STATIC, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_.ok())
    bind_error_ = SqliteError(db_, rc, "bind " + ShortSql(sql_));
  return *this;
}

Statement& Statement::BindBlobRef(int index, std::string_view bytes) {
  const char* data = bytes.data() != nullptr ? bytes.data() : "";
  int rc = sqlite3_bind_blob64(stmt_, index, data, bytes.size(), SQLITE_STATIC);
  if (rc != SQLITE_OK && bind_error_.ok())
    bind_error_ = SqliteError(db_, rc, "bind " + ShortSql(sql_));
  return *this;
}

Statement& Statement::BindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_error_.ok())
    bind_error_ = SqliteError(db_, rc, "bind " + ShortSql(sql_));
  return *this;
}

Result<bool> Statement::Step() {
  if (!bind_error_.ok()) return bind_error_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) {
    sqlite3_reset(stmt_);
    return false;
  }
  Status error = SqliteError(db_, rc, "step " + ShortSql(sql_));
  sqlite3_reset(stmt_);
  return error;
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = Status::Ok();
}

Status Statement::Run() {
  for (;;) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

int64_t Statement::ColumnInt(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::ColumnText(int column) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr || size <= 0) return {};
  return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
}

bool Statement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

// ---------------------------------------------------------------------------------------
// Connection: one sqlite3* and its statement cache. Used by one thread at a time.

class Connection {
 public:
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, bool writer,
                                                  const DatabaseOptions& options) {
    sqlite3* raw = nullptr;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    std::unique_ptr<Connection> conn(new Connection(raw));
    if (rc != SQLITE_OK) return SqliteError(raw, rc, "open " + path);
    sqlite3_extended_result_codes(raw, 1);
    sqlite3_busy_timeout(raw, options.busy_timeout_ms);
    // journal_mode=WAL is persistent in the file; setting it needs a moment of exclusive
    // access. When two processes open a new file at once, SQLite can answer SQLITE_BUSY at
    // once, without calling the busy handler (the connection already holds a read lock and
    // wants to upgrade it), so this waits and retries itself, within the busy timeout.
    std::string setup = "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;";
    if (writer) {
      const auto give_up =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(options.busy_timeout_ms);
      for (;;) {
        Status wal = conn->Exec("PRAGMA journal_mode=WAL", "set WAL mode on " + path);
        if (wal.ok()) break;
        if ((sqlite3_extended_errcode(conn->db()) & 0xff) != SQLITE_BUSY ||
            std::chrono::steady_clock::now() >= give_up) {
          return wal;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    } else {
      setup += " PRAGMA query_only=ON;";
    }
    RETURN_IF_ERROR(conn->Exec(setup, "configure " + path));
    return conn;
  }

  ~Connection() {
    cache_.clear();  // statements must be finalized before the connection closes
    sqlite3_close_v2(db_);
  }

  sqlite3* db() const { return db_; }

  // Runs one statement that returns no rows through the statement cache, so the
  // transaction control of every Write()/Read() (BEGIN, SAVEPOINT, COMMIT...) is parsed once
  // per connection, not once per call. Errors name `operation` and the file.
  Status Control(const char* sql, const char* operation, const std::string& path) {
    auto stmt = Prepare(sql);
    if (!stmt.ok()) return stmt.status().WithContext(std::string(operation) + " on " + path);
    sqlite3_stmt* raw = (*stmt)->stmt_;
    int rc = sqlite3_step(raw);
    while (rc == SQLITE_ROW) rc = sqlite3_step(raw);
    if (rc == SQLITE_DONE) {
      sqlite3_reset(raw);
      return Status::Ok();
    }
    Status error = SqliteError(db_, rc, std::string(operation) + " on " + path);
    sqlite3_reset(raw);
    return error;
  }

  Status Exec(std::string_view sql, std::string_view operation) {
    std::string text(sql);
    char* error = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
    sqlite3_free(error);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, operation);
    return Status::Ok();
  }

  Result<Statement*> Prepare(std::string_view sql) {
    std::string key(sql);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      it->second->Reset();
      return it->second.get();
    }
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return SqliteError(db_, rc, "prepare " + ShortSql(key));
    }
    auto owned = std::unique_ptr<Statement>(new Statement(db_, stmt, key));
    Statement* out = owned.get();
    cache_.emplace(std::move(key), std::move(owned));
    return out;
  }

  // Resets every cached statement so none holds a read snapshot open between transactions.
  void ResetAll() {
    for (auto& [sql, stmt] : cache_) sqlite3_reset(stmt->stmt_);
  }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

// ---------------------------------------------------------------------------------------
// Database::Impl

// One Write() call waiting in the queue. Each has its own condition variable so that the
// leader wakes exactly the callers it finished and the one caller that leads next, not every
// waiter at every commit.
struct Database::WriteRequest {
  const std::function<Status(Transaction&)>* fn;
  Status status;
  bool done = false;
  std::condition_variable cv;
};

struct Database::Impl {
  DatabaseOptions options;
  std::unique_ptr<Connection> writer;

  std::mutex write_mu;
  std::deque<WriteRequest*> pending;
  bool leading = false;

  std::mutex readers_mu;
  std::vector<std::unique_ptr<Connection>> idle_readers;

  std::mutex listeners_mu;
  std::map<int64_t, CommitListener> listeners;
  int64_t next_listener = 1;

  std::mutex schema_mu;
  std::set<std::string> migrated;

  std::atomic<int64_t> commits{0};
  std::atomic<int64_t> writes{0};

  bool IsMigrated(const std::string& component) {
    std::lock_guard<std::mutex> lock(schema_mu);
    return migrated.count(component) > 0;
  }
  void MarkMigrated(const std::string& component) {
    std::lock_guard<std::mutex> lock(schema_mu);
    migrated.insert(component);
  }
};

// ---------------------------------------------------------------------------------------
// Transaction

Result<Statement*> Transaction::Prepare(std::string_view sql) { return connection_->Prepare(sql); }

Status Transaction::Exec(std::string_view sql) {
  return connection_->Exec(sql, "exec " + ShortSql(std::string(sql)));
}

int64_t Transaction::Changes() const { return sqlite3_changes64(connection_->db()); }

void Transaction::OnCommit(std::function<void()> fn) { on_commit_.push_back(std::move(fn)); }

void Transaction::Signal(std::string topic) { topics_.push_back(std::move(topic)); }

Status Transaction::EnsureSchema(const std::string& component,
                                 const std::vector<std::string>& migrations) {
  if (database_->impl_->IsMigrated(component)) return Status::Ok();
  const std::string context = "schema of " + component;
  if (write_) {
    RETURN_IF_ERROR(Exec("CREATE TABLE IF NOT EXISTS schema_versions("
                         "component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
                        .WithContext(context));
  }
  int64_t version = 0;
  {
    auto select = Prepare("SELECT version FROM schema_versions WHERE component = ?1");
    if (!select.ok()) {
      if (!write_) return FailedPreconditionError(context + ": tables are not created yet");
      return select.status().WithContext(context);
    }
    Statement* stmt = *select;
    stmt->Bind(1, component);
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (row) version = stmt->ColumnInt(0);
    stmt->Reset();
  }
  const auto target = static_cast<int64_t>(migrations.size());
  if (version > target) {
    return FailedPreconditionError(context + ": the file has version " + std::to_string(version) +
                                   ", newer than this program knows (" + std::to_string(target) +
                                   ")");
  }
  if (version == target) {
    if (!write_)
      database_->impl_->MarkMigrated(component);
    else
      migrated_.push_back(component);
    return Status::Ok();
  }
  if (!write_) return FailedPreconditionError(context + ": tables are not up to date");
  for (int64_t v = version; v < target; ++v) {
    RETURN_IF_ERROR(connection_->Exec(migrations[static_cast<size_t>(v)],
                                      context + " migration " + std::to_string(v + 1)));
  }
  ASSIGN_OR_RETURN(Statement * upsert,
                   Prepare("INSERT INTO schema_versions(component, version) VALUES(?1, ?2) "
                           "ON CONFLICT(component) DO UPDATE SET version = excluded.version"));
  RETURN_IF_ERROR(upsert->Bind(1, component).Bind(2, target).Run().WithContext(context));
  migrated_.push_back(component);
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// Database

Database::Database(std::string path, std::unique_ptr<Impl> impl)
    : path_(std::move(path)), impl_(std::move(impl)) {}

Database::~Database() = default;

Result<std::shared_ptr<Database>> Database::Open(const std::string& path,
                                                 const DatabaseOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (impl->options.max_batch < 1) impl->options.max_batch = 1;
  ASSIGN_OR_RETURN(impl->writer, Connection::Open(path, /*writer=*/true, options));
  return std::shared_ptr<Database>(new Database(path, std::move(impl)));
}

namespace {

Status CallGuarded(const std::function<Status(Transaction&)>& fn, Transaction& tx) {
  try {
    return fn(tx);
  } catch (const std::exception& e) {
    return InternalError(std::string("exception in database function: ") + e.what());
  } catch (...) {
    return InternalError("unknown exception in database function");
  }
}

}  // namespace

Status Database::Write(const std::function<Status(Transaction&)>& fn) {
  WriteRequest request{&fn, Status::Ok(), false, {}};
  std::unique_lock<std::mutex> lock(impl_->write_mu);
  impl_->pending.push_back(&request);
  // Wait until a leader finished this request, or until it is this request's turn to lead
  // (no leader, and first in line: the previous leader woke it).
  request.cv.wait(lock, [&] {
    return request.done || (!impl_->leading && impl_->pending.front() == &request);
  });
  if (request.done) return request.status;

  // Lead: take everything queued (this request first) and commit it as one transaction.
  impl_->leading = true;
  std::vector<WriteRequest*> batch;
  while (!impl_->pending.empty() && static_cast<int>(batch.size()) < impl_->options.max_batch) {
    batch.push_back(impl_->pending.front());
    impl_->pending.pop_front();
  }
  lock.unlock();
  RunBatch(batch);
  lock.lock();
  for (WriteRequest* r : batch) {
    r->done = true;
    if (r != &request) r->cv.notify_one();
  }
  impl_->leading = false;
  if (!impl_->pending.empty()) impl_->pending.front()->cv.notify_one();
  return request.status;
}

void Database::RunBatch(const std::vector<WriteRequest*>& batch) {
  Connection& conn = *impl_->writer;
  // A lone function needs no savepoint: when it fails, the whole transaction rolls back.
  const bool savepoints = batch.size() > 1;
  std::vector<std::unique_ptr<Transaction>> committed;  // functions that succeeded
  Status begin = conn.Control("BEGIN IMMEDIATE", "begin write transaction", path_);
  if (!begin.ok()) {
    for (WriteRequest* r : batch) r->status = begin;
    return;
  }
  std::vector<WriteRequest*> succeeded;
  bool open = true;
  for (WriteRequest* r : batch) {
    if (!open) {
      // An earlier error ended the whole transaction (SQLite does so for I/O errors,
      // a full disk, ...); start a fresh one for the rest.
      Status again = conn.Control("BEGIN IMMEDIATE", "begin write transaction", path_);
      if (!again.ok()) {
        r->status = again;
        continue;
      }
      open = true;
    }
    auto tx = std::unique_ptr<Transaction>(new Transaction(this, &conn, true));
    Status s = savepoints ? conn.Control("SAVEPOINT tf_write", "savepoint", path_) : Status::Ok();
    if (s.ok()) s = CallGuarded(*r->fn, *tx);
    if (sqlite3_get_autocommit(conn.db()) != 0) {
      // The transaction is gone: everything before this function was rolled back too.
      Status lost =
          UnavailableError("write to " + path_ + " rolled back by a failure in the same batch: " +
                           (s.ok() ? std::string("unknown") : s.message()));
      for (WriteRequest* prev : succeeded) prev->status = lost;
      succeeded.clear();
      committed.clear();
      r->status = s.ok() ? lost : s;
      open = false;
      continue;
    }
    if (!savepoints) {
      r->status = s;
      if (s.ok()) {
        succeeded.push_back(r);
        committed.push_back(std::move(tx));
      } else {
        conn.ResetAll();
        conn.Control("ROLLBACK", "rollback", path_).ok();
        open = false;
      }
      continue;
    }
    if (s.ok()) {
      s = conn.Control("RELEASE tf_write", "release savepoint", path_);
    } else {
      conn.Control("ROLLBACK TO tf_write", "rollback savepoint", path_).ok();
      conn.Control("RELEASE tf_write", "release savepoint", path_).ok();
    }
    r->status = s;
    if (s.ok()) {
      succeeded.push_back(r);
      committed.push_back(std::move(tx));
    }
  }
  conn.ResetAll();
  if (open) {
    Status commit = conn.Control("COMMIT", "commit", path_);
    if (!commit.ok()) {
      conn.Control("ROLLBACK", "rollback", path_).ok();
      for (WriteRequest* r : succeeded) r->status = commit;
      committed.clear();
    } else {
      impl_->commits.fetch_add(1, std::memory_order_relaxed);
    }
  }
  impl_->writes.fetch_add(static_cast<int64_t>(batch.size()), std::memory_order_relaxed);
  // Durable now: run the hooks of the functions that committed.
  std::set<std::string> topics;
  for (auto& tx : committed) {
    for (const auto& c : tx->migrated_) impl_->MarkMigrated(c);
    for (auto& f : tx->on_commit_) f();
    topics.insert(tx->topics_.begin(), tx->topics_.end());
  }
  if (!topics.empty()) {
    std::lock_guard<std::mutex> listeners_lock(impl_->listeners_mu);
    for (const auto& topic : topics) {
      for (auto& [id, listener] : impl_->listeners) listener(topic);
    }
  }
}

Status Database::Read(const std::function<Status(Transaction&)>& fn) {
  std::unique_ptr<Connection> conn;
  {
    std::lock_guard<std::mutex> lock(impl_->readers_mu);
    if (!impl_->idle_readers.empty()) {
      conn = std::move(impl_->idle_readers.back());
      impl_->idle_readers.pop_back();
    }
  }
  if (!conn) {
    ASSIGN_OR_RETURN(conn, Connection::Open(path_, /*writer=*/false, impl_->options));
  }
  Status status = conn->Control("BEGIN", "begin read transaction", path_);
  if (status.ok()) {
    Transaction tx(this, conn.get(), false);
    status = CallGuarded(fn, tx);
    conn->ResetAll();
    Status end = conn->Control("COMMIT", "end read transaction", path_);
    if (status.ok()) status = end;
    for (const auto& c : tx.migrated_) impl_->MarkMigrated(c);
  }
  std::lock_guard<std::mutex> lock(impl_->readers_mu);
  if (static_cast<int>(impl_->idle_readers.size()) < impl_->options.max_readers) {
    impl_->idle_readers.push_back(std::move(conn));
  }
  return status;
}

int64_t Database::AddCommitListener(CommitListener listener) {
  std::lock_guard<std::mutex> lock(impl_->listeners_mu);
  int64_t id = impl_->next_listener++;
  impl_->listeners.emplace(id, std::move(listener));
  return id;
}

void Database::RemoveCommitListener(int64_t id) {
  std::lock_guard<std::mutex> lock(impl_->listeners_mu);
  impl_->listeners.erase(id);
}

int64_t Database::commit_count() const { return impl_->commits.load(); }
int64_t Database::write_count() const { return impl_->writes.load(); }

}  // namespace thumbflow::sqlite
