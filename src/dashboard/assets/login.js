"use strict";
// The login page: exchanges a token or a key pair for a session cookie, then opens the page.
(function () {
  const error = document.getElementById("login-error");

  async function login(body) {
    error.hidden = true;
    let response;
    try {
      response = await fetch("/ui/api/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        credentials: "same-origin",
      });
    } catch (e) {
      error.textContent = "The server cannot be reached: " + e.message;
      error.hidden = false;
      return;
    }
    if (response.ok) {
      window.location.assign("/ui/");
      return;
    }
    let message = "Log-in failed (" + response.status + ").";
    try { message = (await response.json()).message || message; } catch (e) { /* not JSON */ }
    error.textContent = message;
    error.hidden = false;
  }

  document.getElementById("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    login({ token: document.getElementById("token").value.trim() });
  });
  document.getElementById("keys-form").addEventListener("submit", (event) => {
    event.preventDefault();
    login({
      access_key_id: document.getElementById("access-key-id").value.trim(),
      secret_access_key: document.getElementById("secret-access-key").value,
    });
  });
})();
