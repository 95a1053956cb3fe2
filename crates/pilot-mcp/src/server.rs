//! [`PilotMcp`]: the MCP server handler. Every request comes through the HTTP layer
//! with the key's [`Principal`] in its extensions (see `auth.rs`); tools and
//! resources answer for that principal alone.

use pilot_domain::Principal;
use pilot_operations::deliberations::DeliberationQuery;
use pilot_operations::{OpError, Operations};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CancelTaskParams, ErrorData, GetTaskParams,
    GetTaskResult, Implementation, ListResourceTemplatesResult, ListToolsResult,
    PaginatedRequestParams, ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, ResourceContents, ResourceTemplate, ServerCapabilities, ServerConfig,
    UpdateTaskParams,
};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler};

use crate::call::{self, json_of};
use crate::checkpoints;
use crate::tasks;
use crate::tools::{self, CATALOG};
use crate::wait::Waiter;

/// One per MCP session; cheap (the operations are one `Arc`).
#[derive(Clone)]
pub struct PilotMcp {
    ops: Operations,
}

impl PilotMcp {
    pub fn new(ops: Operations) -> PilotMcp {
        PilotMcp { ops }
    }
}

/// The key behind this request, put there by the HTTP layer.
fn principal(context: &RequestContext<RoleServer>) -> Result<Principal, ErrorData> {
    context
        .extensions
        .get::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Principal>())
        .cloned()
        .ok_or_else(|| ErrorData::invalid_request("no API key on this request", None))
}

impl ServerHandler for PilotMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_tasks()
                .build(),
        )
        .with_server_info(Implementation::new("pilot", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "Pilot: automations (pilots) drafted from plain English, run with a payload; \
             and deliberations, questions answered by a five-persona AI panel. Long work \
             answers at once with an id; pass wait_seconds to wait, or read the linked \
             pilot://runs/{id} or pilot://deliberations/{id} resource later. A \
             deliberation2 stops at checkpoints for a person: answered through \
             elicitation when this client supports it, else with respond_checkpoint.",
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let who = principal(&context)?;
        Ok(ListToolsResult::with_all_items(
            CATALOG
                .iter()
                .filter(|spec| who.allows(spec.scope))
                .map(tools::Spec::tool)
                .collect(),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let who = principal(&context)?;
        let spec = tools::find(&request.name)
            .filter(|spec| who.allows(spec.scope))
            .ok_or_else(|| {
                ErrorData::invalid_params(format!("unknown tool {:?}", request.name), None)
            })?;
        // A 2026-07-28 client that can show forms is asked by input required.
        let input_required = checkpoints::waits_at_checkpoints(spec.name)
            && context
                .protocol_version()
                .is_some_and(|version| version >= ProtocolVersion::V_2026_07_28)
            && context
                .client_capabilities()
                .is_some_and(|capabilities| capabilities.elicitation.is_some());
        let waiter = Waiter {
            cancelled: context.ct.clone(),
            peer: context.peer.clone(),
            progress: context.meta.get_progress_token(),
            input_required,
        };
        let arguments = request.arguments.unwrap_or_default();
        if input_required && let Some(state) = &request.request_state {
            let wait = match call::wait_seconds(arguments.get("wait_seconds")) {
                Ok(wait) => wait,
                Err(error) => return Ok(CallToolResponse::Complete(call::failure(&error))),
            };
            let responses = request.input_responses.unwrap_or_default();
            return Ok(
                checkpoints::resumed(&self.ops, &who, state, responses, wait, &waiter).await,
            );
        }
        let as_task = tasks::eligible(spec.name)
            && !arguments.contains_key("wait_seconds")
            && context
                .client_capabilities()
                .is_some_and(|capabilities| capabilities.supports_tasks());
        let result = call::call(&self.ops, &who, spec.name, arguments, waiter).await;
        if as_task
            && result.is_error != Some(true)
            && let Some(task) = tasks::created(spec.name, &result)
        {
            return Ok(CallToolResponse::Task(task));
        }
        if input_required && result.is_error != Some(true) {
            return Ok(checkpoints::answer_of(result));
        }
        Ok(CallToolResponse::Complete(result))
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, ErrorData> {
        let who = principal(&context)?;
        tasks::get(&self.ops, &who, &request.task_id).await
    }

    async fn update_task(
        &self,
        request: UpdateTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let who = principal(&context)?;
        tasks::update(&self.ops, &who, &request.task_id, request.input_responses).await
    }

    async fn cancel_task(
        &self,
        _request: CancelTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        principal(&context)?;
        Err(tasks::cancel())
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        principal(&context)?;
        let template = |uri: &str, name: &str, description: &str| {
            let mut raw = ResourceTemplate::new(uri, name);
            raw.description = Some(description.to_owned());
            raw.mime_type = Some("application/json".to_owned());
            raw
        };
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            template(
                "pilot://runs/{id}",
                "run",
                "A run as GET /api/v1/runs/{id} reads it.",
            ),
            template(
                "pilot://deliberations/{id}",
                "deliberation",
                "A deliberation as GET /v1/api/deliberations/{id} reads it.",
            ),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let who = principal(&context)?;
        let uri = request.uri.clone();
        let read = if let Some(id) = uri.strip_prefix("pilot://runs/") {
            self.ops
                .get_run(&who, id)
                .await
                .and_then(|run| json_of(&run))
        } else if let Some(id) = uri.strip_prefix("pilot://deliberations/") {
            self.ops
                .get_deliberation(&who, id, &DeliberationQuery::default())
                .await
                .result
                .and_then(|view| json_of(&view))
        } else {
            Err(OpError::not_found("no such resource"))
        };
        let text = read.map_err(|error| {
            ErrorData::resource_not_found(
                format!("{}: {}", error.code.as_str(), error.message),
                None,
            )
        })?;
        Ok(
            ReadResourceResult::new(vec![ResourceContents::TextResourceContents {
                uri,
                mime_type: Some("application/json".to_owned()),
                text,
                meta: None,
            }])
            .into(),
        )
    }
}
