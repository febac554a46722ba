// ConnectionTable: who holds the HTTP server's connections, and which one gives way when
// there is no room for a new one.
//
// At most `max_total` connections, and at most `max_per_address` from one peer address, so
// that one client cannot take every slot. A connection waiting for its next request (idle:
// a keep-alive connection between requests, or a new one that has sent nothing yet) is
// closed to make room before any new connection is refused: at the per-address cap, the
// oldest idle connection of that address; when the server is full, the oldest idle
// connection of the address holding the most connections. A connection that is receiving
// or serving a request is never taken off; when none is idle the new one is refused.
//
// Thread-safe (one mutex); no I/O: closing an evicted connection is the caller's
// CloseFn, called outside the lock.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace thumbflow::server {

class ConnectionTable {
 public:
  using CloseFn = std::function<void()>;

  ConnectionTable(int max_total, int max_per_address);

  enum class Outcome { kAdmitted, kRefusedAddressFull, kRefusedServerFull };
  struct Admission {
    Outcome outcome = Outcome::kRefusedServerFull;
    uint64_t id = 0;  // when admitted; pass to SetIdle / SetBusy / Release
    // When an idle connection was taken off to make room: its CloseFn, for the caller to
    // call (after Admit returns, outside the lock).
    CloseFn close_evicted;
  };

  // A new connection from `address`, busy until SetIdle. `close` closes it should it be
  // evicted; it is called at most once, possibly on another thread.
  Admission Admit(const std::string& address, CloseFn close);
  // The connection waits for its next request: it may be evicted from now on.
  void SetIdle(uint64_t id);
  // A request began to arrive. False when the connection was evicted meanwhile: it no
  // longer holds a slot and must close without serving anything.
  bool SetBusy(uint64_t id);
  // The connection closed; its slot is free. A no-op for an evicted connection.
  void Release(uint64_t id);

  int total() const;
  int count(const std::string& address) const;
  uint64_t evicted() const;  // idle connections closed to make room, since construction

 private:
  struct Entry {
    std::string address;
    bool idle = false;
    std::list<uint64_t>::iterator idle_pos;
    CloseFn close;
  };
  struct Address {
    int count = 0;
    std::list<uint64_t> idle;  // oldest first
  };

  uint64_t PickVictimLocked(const std::string& address) const;
  CloseFn RemoveLocked(uint64_t id);

  const int max_total_;
  const int max_per_address_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Entry> entries_;
  std::unordered_map<std::string, Address> addresses_;
  int total_ = 0;
  uint64_t next_id_ = 1;
  uint64_t evicted_ = 0;
};

}  // namespace thumbflow::server
