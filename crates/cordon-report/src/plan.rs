//! The Incident Response Plan: an organisation's facts (who to call, when to escalate, where the
//! backups are and how they are verified, how the plan hands over to Disaster Recovery and Business
//! Continuity) rendered into a plan, with the facts kept as a TOML block inside it so `cordon case
//! init --plan plan.md` can seed a case's tasks and contacts from the same document.

use serde::{Deserialize, Serialize};

use crate::Error;

/// Marks the machine-readable facts block in a rendered plan.
pub const FACTS_MARKER: &str = "<!-- cordon plan facts: edit the TOML below, then `cordon plan check` -->";

/// A person or organisation to reach.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Name.
    pub name: Option<String>,
    /// Role or what they do for us.
    pub role: Option<String>,
    /// Phone (a phone works when e-mail may be read by the attacker).
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
}

/// A regulator, with the notification deadline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Regulator {
    /// Name (e.g. the data-protection authority).
    pub name: Option<String>,
    /// How to notify (portal, e-mail, phone).
    pub how: Option<String>,
    /// Hours from awareness to notification (GDPR: 72).
    pub deadline_hours: Option<u32>,
}

/// When something becomes an incident, and how bad.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    /// What makes an event an incident.
    pub declare_when: Option<String>,
    /// Severity levels, most severe first ("SEV1: customer data exposed or service down > 1 h").
    pub severity_matrix: Option<Vec<String>>,
    /// Minutes between status updates to management.
    pub update_every_minutes: Option<u32>,
}

/// Backups: where, how often, how verified.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backups {
    /// Where they are (and whether they are offline/immutable).
    pub location: Option<String>,
    /// How often.
    pub frequency: Option<String>,
    /// How long kept.
    pub retention: Option<String>,
    /// How a restore is verified (test restores, cordon backup check).
    pub verification: Option<String>,
}

/// Disaster Recovery and Business Continuity: where the IR plan hands over.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continuity {
    /// The Disaster Recovery Plan (document, owner).
    pub drp: Option<String>,
    /// The Business Continuity Plan (document, owner).
    pub bcp: Option<String>,
    /// Recovery time objective, hours.
    pub rto_hours: Option<u32>,
    /// Recovery point objective, hours.
    pub rpo_hours: Option<u32>,
}

/// Everything the plan needs to know about the organisation (`org.toml`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgFacts {
    /// Organisation name.
    pub organisation: Option<String>,
    /// Who leads an incident response.
    pub incident_lead: Option<Contact>,
    /// Who stands in for them.
    pub deputy: Option<Contact>,
    /// Who in management is briefed and decides.
    pub management: Option<Contact>,
    /// Legal counsel.
    pub legal: Option<Contact>,
    /// Who speaks to customers and the press.
    pub communications: Option<Contact>,
    /// Outside incident-response help on retainer.
    pub retainer: Option<Contact>,
    /// Law enforcement contact (cybercrime unit).
    pub law_enforcement: Option<Contact>,
    /// Cyber insurer.
    pub insurer: Option<Contact>,
    /// Regulator to notify.
    pub regulator: Option<Regulator>,
    /// Escalation rules.
    pub escalation: Option<Escalation>,
    /// Backups.
    pub backups: Option<Backups>,
    /// DR/BCP hand-over.
    pub continuity: Option<Continuity>,
    /// How customers are told (status page, e-mail list).
    pub customer_channel: Option<String>,
}

impl OrgFacts {
    /// Parses `org.toml`.
    pub fn from_toml(text: &str) -> Result<OrgFacts, Error> {
        toml::from_str(text).map_err(|e| Error::Plan(format!("org facts: {e}")))
    }

    /// The facts block of a rendered plan.
    pub fn from_plan(markdown: &str) -> Result<OrgFacts, Error> {
        let after = markdown
            .split_once(FACTS_MARKER)
            .map(|(_, rest)| rest)
            .ok_or_else(|| {
                Error::Plan(
                    "this file has no cordon plan facts block (make one with `cordon plan init`)".into(),
                )
            })?;
        let body = after
            .split_once("```toml")
            .and_then(|(_, rest)| rest.split_once("```"))
            .map(|(toml, _)| toml)
            .ok_or_else(|| Error::Plan("the plan facts block is not a ```toml fenced block".into()))?;
        OrgFacts::from_toml(body)
    }

    /// The facts as TOML.
    pub fn to_toml(&self) -> Result<String, Error> {
        toml::to_string_pretty(self).map_err(|e| Error::Plan(format!("org facts: {e}")))
    }

    /// What is missing, as (fact, why it matters).
    pub fn missing(&self) -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        let phone = |c: &Option<Contact>| c.as_ref().is_some_and(|c| c.name.is_some() && c.phone.is_some());
        let mut need = |ok: bool, fact: &'static str, why: &'static str| {
            if !ok {
                out.push((fact, why));
            }
        };
        need(
            self.organisation.is_some(),
            "organisation",
            "the plan and every message name it",
        );
        need(
            phone(&self.incident_lead),
            "incident_lead.name/phone",
            "someone must own the response from the first minute",
        );
        need(
            phone(&self.deputy),
            "deputy.name/phone",
            "incidents happen on holidays",
        );
        need(
            phone(&self.management),
            "management.name/phone",
            "management decides on isolation, rebuild and disclosure",
        );
        need(
            phone(&self.legal),
            "legal.name/phone",
            "disclosure duties and evidence handling need counsel early",
        );
        need(
            phone(&self.communications),
            "communications.name/phone",
            "one voice to customers and press",
        );
        need(
            phone(&self.retainer),
            "retainer.name/phone",
            "outside help is fastest when the contract exists before the incident",
        );
        need(
            phone(&self.law_enforcement),
            "law_enforcement.name/phone",
            "reporting crime, and preserving evidence for it",
        );
        need(
            self.regulator
                .as_ref()
                .is_some_and(|r| r.name.is_some() && r.deadline_hours.is_some()),
            "regulator.name/deadline_hours",
            "personal-data breaches have notification deadlines (GDPR: 72 hours)",
        );
        need(
            self.escalation
                .as_ref()
                .is_some_and(|e| e.declare_when.is_some() && e.severity_matrix.is_some()),
            "escalation.declare_when/severity_matrix",
            "everyone must know when an event becomes an incident, and how bad it is",
        );
        need(
            self.backups
                .as_ref()
                .is_some_and(|b| b.location.is_some() && b.verification.is_some()),
            "backups.location/verification",
            "recovery depends on backups you know are clean",
        );
        need(
            self.continuity
                .as_ref()
                .is_some_and(|c| c.drp.is_some() && c.bcp.is_some()),
            "continuity.drp/bcp",
            "the IR plan hands over to Disaster Recovery and Business Continuity",
        );
        need(
            self.customer_channel.is_some(),
            "customer_channel",
            "customers must hear it from you first",
        );
        out
    }
}

/// A filled-in example, for `cordon plan init` without `--org` (every fact marked as an example).
pub fn example() -> OrgFacts {
    let c = |name: &str, role: &str, phone: &str| Contact {
        name: Some(name.into()),
        role: Some(role.into()),
        phone: Some(phone.into()),
        email: None,
    };
    OrgFacts {
        organisation: Some("EXAMPLE — replace: Example Ltd".into()),
        incident_lead: Some(c(
            "EXAMPLE — replace: A. Admin",
            "senior sysadmin",
            "+00 000 000 001",
        )),
        deputy: None,
        management: Some(c("EXAMPLE — replace: B. Boss", "CTO", "+00 000 000 002")),
        legal: None,
        communications: None,
        retainer: None,
        law_enforcement: None,
        insurer: None,
        regulator: Some(Regulator {
            name: Some("EXAMPLE — replace: data-protection authority".into()),
            how: None,
            deadline_hours: Some(72),
        }),
        escalation: Some(Escalation {
            declare_when: Some(
                "any confirmed or strongly suspected unauthorised access to a production system".into(),
            ),
            severity_matrix: Some(vec![
                "SEV1: customer data exposed, or a production service down for more than 1 hour".into(),
                "SEV2: a production host compromised, no known data exposure".into(),
                "SEV3: attempted attack contained at the perimeter".into(),
            ]),
            update_every_minutes: Some(30),
        }),
        backups: None,
        continuity: None,
        customer_channel: None,
    }
}
