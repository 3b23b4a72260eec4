//! The SOAP 1.1 messages of the worldserver's `executeCommand` (gSOAP, as
//! AzerothCore's `ACSoap.cpp` and TrinityCore's `TCSoap.cpp` serve it): the
//! request envelope, and the answer read back as a result or a fault.

use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// The SOAP 1.1 envelope namespace.
pub const ENVELOPE_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// The request: `<ns1:executeCommand><command>…</command></ns1:executeCommand>`
/// in the core's `urn` (`urn:AC`, `urn:TC`), the command XML-escaped.
pub fn request(urn: &str, command: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <SOAP-ENV:Envelope xmlns:SOAP-ENV=\"{ENVELOPE_NS}\" \
         xmlns:SOAP-ENC=\"http://schemas.xmlsoap.org/soap/encoding/\" \
         xmlns:xsi=\"http://www.w3.org/1999/XMLSchema-instance\" \
         xmlns:xsd=\"http://www.w3.org/1999/XMLSchema\" xmlns:ns1=\"{}\">\
         <SOAP-ENV:Body><ns1:executeCommand><command>{}</command></ns1:executeCommand>\
         </SOAP-ENV:Body></SOAP-ENV:Envelope>",
        escape(urn),
        escape(command)
    )
}

/// A successful answer: `<ns1:executeCommandResponse><result>…</result>`.
pub fn response(urn: &str, result: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <SOAP-ENV:Envelope xmlns:SOAP-ENV=\"{ENVELOPE_NS}\" xmlns:ns1=\"{}\">\
         <SOAP-ENV:Body><ns1:executeCommandResponse><result>{}</result>\
         </ns1:executeCommandResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>",
        escape(urn),
        escape(result)
    )
}

/// A fault as gSOAP's `soap_sender_fault(soap, text, text)` writes it
/// (HTTP 500, `faultcode` `SOAP-ENV:Client`).
pub fn fault(text: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <SOAP-ENV:Envelope xmlns:SOAP-ENV=\"{ENVELOPE_NS}\"><SOAP-ENV:Body>\
         <SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode><faultstring>{0}</faultstring>\
         <detail>{0}</detail></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>",
        escape(text)
    )
}

/// What the worldserver answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The command succeeded; its printed output (`result`).
    Result(String),
    /// The command failed (or could not be run); the `faultstring`.
    Fault(String),
}

/// Reads an answer envelope: the text of `Body/Fault/faultstring` if there
/// is a fault, else of `Body/*/result`. Prefixes do not matter, the envelope
/// namespace does.
///
/// # Errors
/// Not XML, or an envelope with neither a result nor a fault.
pub fn parse_answer(body: &str) -> Result<Answer, String> {
    let texts = element_texts(body, &["faultstring", "result"], None)?;
    if texts.in_fault {
        return Ok(Answer::Fault(
            texts
                .found
                .into_iter()
                .find(|(n, _)| *n == "faultstring")
                .map(|(_, t)| t)
                .unwrap_or_default(),
        ));
    }
    texts
        .found
        .into_iter()
        .find(|(n, _)| *n == "result")
        .map(|(_, t)| Answer::Result(t))
        .ok_or_else(|| "an envelope with neither a result nor a fault".to_owned())
}

/// Reads a request envelope (the fake worldserver's side): the `command`
/// of an `executeCommand` element in namespace `urn`.
///
/// # Errors
/// Not XML, no `executeCommand` in `urn` (a wrong URN), or no `command`.
pub fn parse_request(body: &str, urn: &str) -> Result<String, String> {
    let texts = element_texts(body, &["command"], Some(urn))?;
    if !texts.method_found {
        return Err(format!("Method 'executeCommand' not implemented in {urn}"));
    }
    texts
        .found
        .into_iter()
        .next()
        .map(|(_, t)| t)
        .ok_or_else(|| "executeCommand without a command".to_owned())
}

struct Texts {
    found: Vec<(&'static str, String)>,
    in_fault: bool,
    method_found: bool,
}

/// The text of each element named in `wanted` (by local name) inside the
/// envelope's Body; whether a `Fault` (in the envelope namespace) was seen;
/// and, with `method_urn`, whether an `executeCommand` in that namespace was.
fn element_texts(
    body: &str,
    wanted: &[&'static str],
    method_urn: Option<&str>,
) -> Result<Texts, String> {
    let mut reader = NsReader::from_str(body);
    let mut out = Texts {
        found: Vec::new(),
        in_fault: false,
        method_found: false,
    };
    let mut inside: Option<(&'static str, String)> = None;
    let mut envelope = false;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| format!("not XML: {e}"))?;
        let in_ns = |want: &str| matches!(&ns, ResolveResult::Bound(n) if n.as_ref() == want);
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let local = e.local_name();
                let local = local.as_ref();
                if local == "Envelope" && in_ns(ENVELOPE_NS) {
                    envelope = true;
                } else if local == "Fault" && in_ns(ENVELOPE_NS) {
                    out.in_fault = true;
                } else if local == "executeCommand" && method_urn.is_some_and(in_ns) {
                    out.method_found = true;
                }
                if let Some(name) = wanted.iter().find(|w| **w == local) {
                    if matches!(event, Event::Empty(_)) {
                        out.found.push((name, String::new()));
                    } else {
                        inside = Some((name, String::new()));
                    }
                }
            }
            Event::Text(t) => {
                if let Some((_, text)) = inside.as_mut() {
                    text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some((_, text)) = inside.as_mut() {
                    text.push_str(&t.into_inner());
                }
            }
            Event::GeneralRef(r) => {
                if let Some((_, text)) = inside.as_mut() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => text.push(c),
                        _ => text.push_str(
                            resolve_predefined_entity(&r)
                                .ok_or_else(|| "an unknown entity reference".to_owned())?,
                        ),
                    }
                }
            }
            Event::End(e)
                if inside
                    .as_ref()
                    .is_some_and(|(name, _)| *name == e.local_name().as_ref()) =>
            {
                out.found.extend(inside.take());
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !envelope {
        return Err("not a SOAP envelope".to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_escapes_and_round_trips() {
        let body = request("urn:AC", "account create A<B &x");
        assert!(body.contains("account create A&lt;B &amp;x"), "{body}");
        assert_eq!(
            parse_request(&body, "urn:AC").unwrap(),
            "account create A<B &x"
        );
        assert!(
            parse_request(&body, "urn:TC")
                .unwrap_err()
                .contains("not implemented")
        );
    }

    #[test]
    fn results_and_faults_as_gsoap_writes_them() {
        let ok = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<SOAP-ENV:Envelope \
                  xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" \
                  xmlns:ns1=\"urn:TC\"><SOAP-ENV:Body><ns1:executeCommandResponse>\
                  <result>Account created: HERO&#xD;&#xA;</result></ns1:executeCommandResponse>\
                  </SOAP-ENV:Body></SOAP-ENV:Envelope>";
        assert_eq!(
            parse_answer(ok).unwrap(),
            Answer::Result("Account created: HERO\r\n".into())
        );
        assert_eq!(
            parse_answer(&fault("Account with this name already exist!")).unwrap(),
            Answer::Fault("Account with this name already exist!".into())
        );
        assert_eq!(
            parse_answer(&response("urn:AC", "x & y")).unwrap(),
            Answer::Result("x & y".into())
        );
        assert!(parse_answer("<html>502 Bad Gateway</html>").is_err());
        assert!(parse_answer("not xml <<<").is_err());
    }
}
