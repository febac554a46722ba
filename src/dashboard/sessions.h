// Sessions: who may use the dashboard. The dashboard is never open to whoever can reach the
// port: at start one login token is minted and printed in the dashboard URL (as Jupyter
// does). Exchanging that token, once, or presenting one of the endpoint's key pairs opens a
// session, named by a random value the browser keeps in an HttpOnly, SameSite=Strict cookie.
// A session ends after `idle_ttl_ms` without a request, at logout, or when the process
// stops (sessions live in memory only).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"

namespace thumbflow::dashboard {

struct KeyPair {
  std::string access_key_id;
  std::string secret_access_key;
};

class Sessions {
 public:
  static constexpr int64_t kDefaultIdleTtlMs = 12 * 3600 * 1000;
  static constexpr size_t kMaxSessions = 1000;  // the least recently used is dropped beyond

  Sessions(const Clock& clock, std::vector<KeyPair> key_pairs,
           int64_t idle_ttl_ms = kDefaultIdleTtlMs);

  // The one-time token of the printed URL; empty once it has been exchanged.
  std::string login_token() const;
  // A new session id, or nullopt when the token is wrong or already used.
  std::optional<std::string> OpenWithToken(std::string_view token);
  // A new session id, or nullopt unless (id, secret) is one of the key pairs.
  std::optional<std::string> OpenWithKeys(std::string_view access_key_id,
                                          std::string_view secret_access_key);
  // True when `session` is open; the use extends its life.
  bool Check(std::string_view session);
  void Close(std::string_view session);

 private:
  std::string OpenLocked(int64_t now_ms);

  const Clock& clock_;
  const std::vector<KeyPair> key_pairs_;
  const int64_t idle_ttl_ms_;
  mutable std::mutex mu_;
  std::string token_;
  std::map<std::string, int64_t, std::less<>> last_use_ms_;  // by session id
};

// Constant-time comparison of secrets (the time does not reveal where they differ).
bool SecretEquals(std::string_view a, std::string_view b);

}  // namespace thumbflow::dashboard
