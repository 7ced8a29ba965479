//! Talking to OCM: one authenticated call at a time, with the token renewed
//! when it is about to expire or was refused, and OCM's error bodies turned
//! into sentences.

use serde_json::Value;

use common::http::{Client, Request, Response};
use common::ocm::describe_error;
use common::ocm_auth::TokenProvider;
use common::{Error, Result};

/// An OCM endpoint and the credentials for it.
pub struct OcmApi {
    client: Client,
    tokens: TokenProvider,
}

impl OcmApi {
    pub fn new(client: Client, tokens: TokenProvider) -> OcmApi {
        OcmApi { client, tokens }
    }

    /// Sends one request and returns OCM's answer whatever its status
    /// (5xx, 429 and dropped connections were already retried). A 401 gets
    /// one more try with a freshly exchanged token, since an access token
    /// can be revoked before its stated expiry.
    pub fn call(&mut self, method: &str, path: &str, body: Option<&Value>) -> Result<Response> {
        let mut renewed = false;
        loop {
            let token = self.tokens.access_token()?;
            self.client.set_token(Some(token));
            let mut request = Request::new(method, path).header("Accept", "application/json");
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = self.client.send(&request)?;
            if response.status == 401 && !renewed && self.tokens.can_refresh() {
                self.tokens.invalidate();
                renewed = true;
                continue;
            }
            return Ok(response);
        }
    }

    /// The error for an answer that is not what was asked for.
    pub fn refused(&self, method: &str, path: &str, response: &Response) -> Error {
        let mut message = format!(
            "{method} {path}: {}",
            describe_error(response.status, &response.body)
        );
        match response.status {
            401 => message
                .push_str(" (the credentials were refused; check OCM_TOKEN or run `ocm login`)"),
            403 => message.push_str(" (the account may not manage add-ons in this environment)"),
            _ => {}
        }
        Error::remote(self.client.base_url(), message)
    }

    /// The answer's body as a JSON object, `{}` when empty (DELETE, 204).
    pub fn body(&self, response: &Response) -> Result<Value> {
        read_object(self.client.base_url(), response)
    }
}

/// An OCM answer's body: a JSON object, as every OCM resource is, or `{}`
/// when empty. Anything else (a number, a list, HTML) is a remote error
/// naming `target`: callers add fields to the object they get.
pub fn read_object(target: &str, response: &Response) -> Result<Value> {
    if response.body.is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    let value: Value = response.json(target)?;
    if !value.is_object() {
        return Err(Error::remote(
            target,
            format!(
                "answered with JSON that is not an object (expected an OCM resource): {}",
                common::http::snippet(&response.text())
            ),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &str) -> Response {
        Response {
            status: 200,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    /// Found by fuzz target ocm_answer: `ocm-post --show` and a publish set
    /// `addon["versions"]`/`answered["version"]` on OCM's answer, which
    /// panicked when the answer was JSON but not an object.
    #[test]
    fn answers_that_are_not_objects_are_refused() {
        for body in ["0", "[]", "\"ok\"", "null"] {
            let err = read_object("https://api.ocm", &answer(body))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("not an object") && err.contains("https://api.ocm"),
                "{err}"
            );
        }
        assert_eq!(
            read_object("t", &answer("")).unwrap(),
            serde_json::json!({})
        );
        assert_eq!(
            read_object("t", &answer(r#"{"id":"a"}"#)).unwrap()["id"],
            "a"
        );
    }
}
