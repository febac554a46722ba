#include "server/s3_cors.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <pugixml.hpp>

#include "core/disk.h"
#include "core/random.h"
#include "core/strings.h"
#include "server/s3_protocol.h"
#include "server/s3_request.h"

namespace thumbflow::server {
namespace {

Status MalformedCors() {
  return S3Status(StatusCode::kInvalidArgument, "MalformedXML",
                  "The XML you provided was not well-formed or did not validate against our "
                  "published schema");
}

Status InvalidRequest(std::string message) {
  return S3Status(StatusCode::kInvalidArgument, "InvalidRequest", std::move(message));
}

bool MoreThanOneWildcard(std::string_view text) {
  size_t first = text.find('*');
  return first != std::string_view::npos && text.find('*', first + 1) != std::string_view::npos;
}

}  // namespace

Result<std::vector<CorsRule>> ParseCorsConfigurationXml(std::string_view body) {
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size())) return MalformedCors();
  pugi::xml_node root = doc.child("CORSConfiguration");
  if (!root) return MalformedCors();
  std::vector<CorsRule> rules;
  for (pugi::xml_node node : root.children("CORSRule")) {
    CorsRule& rule = rules.emplace_back();
    rule.id = node.child_value("ID");
    if (rule.id.size() > 255) return MalformedCors();
    for (pugi::xml_node m : node.children("AllowedMethod")) {
      std::string method = m.child_value();
      if (method != "GET" && method != "PUT" && method != "POST" && method != "DELETE" &&
          method != "HEAD") {
        return InvalidRequest(
            "Found unsupported HTTP method in CORS config. Unsupported method is " + method);
      }
      rule.allowed_methods.push_back(method);
    }
    for (pugi::xml_node o : node.children("AllowedOrigin")) {
      std::string origin = o.child_value();
      if (MoreThanOneWildcard(origin)) {
        return InvalidRequest("AllowedOrigin \"" + origin +
                              "\" can not have more than one wildcard.");
      }
      rule.allowed_origins.push_back(origin);
    }
    for (pugi::xml_node h : node.children("AllowedHeader")) {
      std::string header = h.child_value();
      if (MoreThanOneWildcard(header)) {
        return InvalidRequest("AllowedHeader \"" + header +
                              "\" can not have more than one wildcard.");
      }
      rule.allowed_headers.push_back(header);
    }
    for (pugi::xml_node h : node.children("ExposeHeader"))
      rule.expose_headers.push_back(h.child_value());
    if (pugi::xml_node age = node.child("MaxAgeSeconds")) {
      std::string text = age.child_value();
      char* end = nullptr;
      long long value = std::strtoll(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0') return MalformedCors();
      rule.max_age_seconds = value;
    }
    if (rule.allowed_methods.empty() || rule.allowed_origins.empty()) return MalformedCors();
  }
  if (rules.empty() || rules.size() > 100) return MalformedCors();
  return rules;
}

std::string CorsConfigurationXml(const std::vector<CorsRule>& rules) {
  std::string xml = "<CORSConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (const CorsRule& rule : rules) {
    xml += "<CORSRule>";
    if (!rule.id.empty()) xml += "<ID>" + XmlEscape(rule.id) + "</ID>";
    for (const auto& h : rule.allowed_headers)
      xml += "<AllowedHeader>" + XmlEscape(h) + "</AllowedHeader>";
    for (const auto& m : rule.allowed_methods) xml += "<AllowedMethod>" + m + "</AllowedMethod>";
    for (const auto& o : rule.allowed_origins)
      xml += "<AllowedOrigin>" + XmlEscape(o) + "</AllowedOrigin>";
    for (const auto& h : rule.expose_headers)
      xml += "<ExposeHeader>" + XmlEscape(h) + "</ExposeHeader>";
    if (rule.max_age_seconds) {
      xml += "<MaxAgeSeconds>" + std::to_string(*rule.max_age_seconds) + "</MaxAgeSeconds>";
    }
    xml += "</CORSRule>";
  }
  xml += "</CORSConfiguration>";
  return xml;
}

bool CorsWildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case) {
  auto equal = [&](std::string_view a, std::string_view b) {
    return ignore_case ? EqualsIgnoreCase(a, b) : a == b;
  };
  size_t star = pattern.find('*');
  if (star == std::string_view::npos) return equal(pattern, text);
  std::string_view head = pattern.substr(0, star), tail = pattern.substr(star + 1);
  return text.size() >= head.size() + tail.size() && equal(text.substr(0, head.size()), head) &&
         equal(text.substr(text.size() - tail.size()), tail);
}

const CorsRule* MatchCorsRule(const std::vector<CorsRule>& rules, std::string_view origin,
                              std::string_view method,
                              const std::vector<std::string>& request_headers) {
  for (const CorsRule& rule : rules) {
    bool origin_ok = false;
    for (const auto& o : rule.allowed_origins)
      origin_ok = origin_ok || CorsWildcardMatch(o, origin, false);
    bool method_ok = false;
    for (const auto& m : rule.allowed_methods) method_ok = method_ok || m == method;
    if (!origin_ok || !method_ok) continue;
    bool headers_ok = true;
    for (const auto& h : request_headers) {
      bool allowed = false;
      for (const auto& a : rule.allowed_headers) allowed = allowed || CorsWildcardMatch(a, h, true);
      headers_ok = headers_ok && allowed;
    }
    if (headers_ok) return &rule;
  }
  return nullptr;
}

Status BucketCorsStore::Put(const std::string& bucket, const std::vector<CorsRule>& rules) {
  std::lock_guard lock(mu_);
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);
  if (ec) return FileError(ec.value(), "create folder", root_);
  const std::string path = root_ + "/" + bucket + ".xml";
  const std::string tmp = path + "." + RandomHex(6) + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << CorsConfigurationXml(rules);
    if (!out) return InternalError("write " + tmp);
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return FileError(ec.value(), "rename", tmp);
  return Status::Ok();
}

Result<std::optional<std::vector<CorsRule>>> BucketCorsStore::Get(const std::string& bucket) const {
  std::lock_guard lock(mu_);
  std::ifstream in(root_ + "/" + bucket + ".xml", std::ios::binary);
  if (!in) return std::optional<std::vector<CorsRule>>();
  std::stringstream text;
  text << in.rdbuf();
  ASSIGN_OR_RETURN(std::vector<CorsRule> rules, ParseCorsConfigurationXml(text.str()));
  return std::optional<std::vector<CorsRule>>(std::move(rules));
}

Status BucketCorsStore::Delete(const std::string& bucket) {
  std::lock_guard lock(mu_);
  std::error_code ec;
  std::filesystem::remove(root_ + "/" + bucket + ".xml", ec);
  if (ec) return FileError(ec.value(), "remove", root_ + "/" + bucket + ".xml");
  return Status::Ok();
}

}  // namespace thumbflow::server
