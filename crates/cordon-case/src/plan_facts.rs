//! The organisation's Incident Response Plan facts attached to a case (`case init --plan`): the
//! contacts and deadlines the response, its messages and its report draw on.

use cordon_core::Clock;
use rusqlite::params;
use serde_json::{Value, json};

use crate::Error;
use crate::case::{Actor, Case};

impl Case {
    /// Stores the plan's facts (JSON) and adds the plan's own tasks, journaled.
    pub fn load_plan(
        &mut self,
        clock: &dyn Clock,
        actor: &Actor,
        facts: &Value,
        tasks: &[String],
    ) -> Result<(), Error> {
        let text = serde_json::to_string(facts)?;
        self.transaction(|tx| {
            crate::journal::append(
                tx,
                &cordon_core::format_utc(clock.now()),
                &actor.label(),
                "plan.loaded",
                b"Incident Response Plan facts loaded into the case",
                &json!({"facts": facts, "tasks": tasks}),
            )?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('plan_facts', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![text],
            )
            .map_err(Error::sql("store plan facts"))?;
            Ok(())
        })?;
        for t in tasks {
            self.add_task(clock, actor, t)?;
        }
        Ok(())
    }

    /// The plan's facts, when a plan was loaded.
    pub fn plan_facts(&self) -> Result<Option<Value>, Error> {
        Ok(self
            .meta("plan_facts")?
            .and_then(|s| serde_json::from_str(&s).ok()))
    }
}
