// ScriptedHttpClient: the HttpClient port answered from a test's script, recording every
// request it is sent. Either a list of answers taken in order (the last one repeats when
// `repeat_last`; an exhausted list answers Unavailable), or a `respond` function that answers
// each request. Thread-safe: Send may be called from several threads.
#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "aws/http_client.h"

namespace thumbflow::aws::testing {

class ScriptedHttpClient : public HttpClient {
 public:
  std::deque<Result<HttpResponse>> answers;
  bool repeat_last = false;
  std::function<Result<HttpResponse>(const HttpRequest&)> respond;

  Result<HttpResponse> Send(const HttpRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(request);
    if (respond) return respond(request);
    if (answers.empty()) return UnavailableError("no more scripted answers");
    Result<HttpResponse> answer = answers.front();
    if (!repeat_last || answers.size() > 1) answers.pop_front();
    return answer;
  }

  int calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(requests_.size());
  }
  // A copy: the list may grow while a test reads it.
  std::vector<HttpRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  HttpRequest request(size_t i) const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.at(i);
  }
  void ClearRequests() {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.clear();
  }

 private:
  mutable std::mutex mu_;
  std::vector<HttpRequest> requests_;
};

inline HttpResponse Reply(int status, std::string body = {}, HttpHeaders headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

}  // namespace thumbflow::aws::testing
