//! The `email` trigger: the SMTP listener's handler, over the operations.
//!
//! A pilot with `triggerType: "email"` has an address `pilot-…@<domain>`; mail to it
//! becomes a run whose trigger payload is the message (`InboundMail::to_payload`).
//! The listener answers `250` to `DATA` only after `deliver` returned, and `deliver`
//! returns only once the run and its job are committed
//! ([`Operations::fire_email`]) — so accepted mail is never lost. Delivery is at
//! least once: a client that resends after a `451` may fire a pilot twice, as with
//! any webhook.

use async_trait::async_trait;
use pilot_operations::{ErrorKind, Operations};
use pilot_smtp::{HandlerError, InboundMail, MailHandler};

pub struct EmailTrigger {
    ops: Operations,
}

impl EmailTrigger {
    pub fn new(ops: Operations) -> EmailTrigger {
        EmailTrigger { ops }
    }
}

#[async_trait]
impl MailHandler for EmailTrigger {
    async fn accepts(&self, local_part: &str) -> Result<bool, HandlerError> {
        self.ops
            .email_accepts(local_part)
            .await
            .map_err(|e| HandlerError::with_source("store unavailable", e))
    }

    async fn deliver(&self, mail: &InboundMail) -> Result<(), HandlerError> {
        match self
            .ops
            .fire_email(&mail.recipient, &mail.to_payload())
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if error.kind == ErrorKind::Internal => {
                Err(HandlerError::with_source("store unavailable", error))
            }
            Err(_) => Err(HandlerError::new("the pilot is paused or gone")),
        }
    }
}

#[cfg(test)]
mod tests {
    use pilot_domain::trigger_payload::EMAIL_KEYS;
    use pilot_smtp::InboundMail;

    /// Templates of email pilots are checked against `EMAIL_KEYS`: they are the keys
    /// the listener's payload really has, in order.
    #[test]
    fn the_checked_email_keys_are_the_payloads() {
        let mail = InboundMail {
            envelope_from: None,
            recipient: "pilot-x".to_owned(),
            recipient_address: "pilot-x@localhost".to_owned(),
            message_id: None,
            from: None,
            to: Vec::new(),
            cc: Vec::new(),
            date: None,
            attachments: Vec::new(),
            subject: None,
            text: String::new(),
            html: None,
            headers: Vec::new(),
            raw_size: 0,
            received_at_ms: 0,
        };
        let payload = mail.to_payload();
        let keys: Vec<&str> = payload
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, EMAIL_KEYS);
    }
}
