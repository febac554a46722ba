#include "dashboard/sessions.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "core/random.h"

namespace thumbflow::dashboard {

bool SecretEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Sessions::Sessions(const Clock& clock, std::vector<KeyPair> key_pairs, int64_t idle_ttl_ms)
    : clock_(clock),
      key_pairs_(std::move(key_pairs)),
      idle_ttl_ms_(idle_ttl_ms),
      token_(RandomHex(24)) {}

std::string Sessions::login_token() const {
  std::lock_guard lock(mu_);
  return token_;
}

std::string Sessions::OpenLocked(int64_t now_ms) {
  for (auto it = last_use_ms_.begin(); it != last_use_ms_.end();) {
    it = now_ms - it->second >= idle_ttl_ms_ ? last_use_ms_.erase(it) : std::next(it);
  }
  if (last_use_ms_.size() >= kMaxSessions) {
    auto oldest =
        std::min_element(last_use_ms_.begin(), last_use_ms_.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
    last_use_ms_.erase(oldest);
  }
  std::string id = RandomHex(32);
  last_use_ms_[id] = now_ms;
  return id;
}

std::optional<std::string> Sessions::OpenWithToken(std::string_view token) {
  std::lock_guard lock(mu_);
  if (token_.empty() || !SecretEquals(token, token_)) return std::nullopt;
  token_.clear();  // one use
  return OpenLocked(clock_.NowMillis());
}

std::optional<std::string> Sessions::OpenWithKeys(std::string_view access_key_id,
                                                  std::string_view secret_access_key) {
  bool match = false;
  for (const KeyPair& pair : key_pairs_) {
    // Both compared every time: no early exit tells which half was wrong.
    bool id_ok = SecretEquals(access_key_id, pair.access_key_id);
    bool secret_ok = SecretEquals(secret_access_key, pair.secret_access_key);
    match = match || (id_ok && secret_ok && !pair.access_key_id.empty());
  }
  if (!match) return std::nullopt;
  std::lock_guard lock(mu_);
  return OpenLocked(clock_.NowMillis());
}

bool Sessions::Check(std::string_view session) {
  if (session.empty()) return false;
  const int64_t now_ms = clock_.NowMillis();
  std::lock_guard lock(mu_);
  auto it = last_use_ms_.find(session);
  if (it == last_use_ms_.end()) return false;
  if (now_ms - it->second >= idle_ttl_ms_) {
    last_use_ms_.erase(it);
    return false;
  }
  it->second = now_ms;
  return true;
}

void Sessions::Close(std::string_view session) {
  std::lock_guard lock(mu_);
  auto it = last_use_ms_.find(session);
  if (it != last_use_ms_.end()) last_use_ms_.erase(it);
}

}  // namespace thumbflow::dashboard
