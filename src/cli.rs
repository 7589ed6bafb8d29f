//! The command line: `serve` (default), `worker`, `migrate`,
//! `user create|set-role`, `workflow selftest|status`, `check-config`. Configuration comes from the environment and `.env`.

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use garde::Validate;

use crate::app;
use crate::features::accounts::{schema::SignUpInput, service};
use crate::features::system::workflows::{SelfTest, SelfTestParams};
use crate::platform::auth::Role;
use crate::platform::config::{Config, VARIABLES};
use crate::platform::db::Db;
use crate::platform::http::DbCtx;
use crate::platform::telemetry;
use crate::platform::workflow::CreateOptions;

#[derive(Parser)]
#[command(name = "flint", version, about = "A self-hostable blog CMS backend", long_about = None)]
#[command(after_help = "Configuration is read from environment variables and ./.env; see `flint check-config`.")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the HTTP server (what a bare `flint` does).
    Serve,
    /// Run workflow workers without HTTP (for scale-out).
    Worker,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Inspect the workflow engine.
    Workflow {
        #[command(subcommand)]
        command: WorkflowCommand,
    },
    /// Development: add realistic published posts (Markdown, English and Chinese, 20 tags).
    Seed {
        #[arg(long, default_value_t = 1000)]
        posts: usize,
    },
    /// Rebuild the search index from the public posts.
    Reindex,
    /// Print the effective configuration (secrets masked) and exit.
    CheckConfig,
}

#[derive(Subcommand)]
enum WorkflowCommand {
    /// Start self-test runs (steps with sleeps between them) and, with
    /// --wait, wait until workers have completed them.
    Selftest {
        #[arg(long, default_value_t = 1)]
        runs: u32,
        #[arg(long, default_value_t = 3)]
        steps: u32,
        /// How long each step works and each pause lasts, in milliseconds.
        #[arg(long, default_value_t = 100)]
        pause_ms: u64,
        /// Wait (up to this many seconds) for the runs to complete.
        #[arg(long)]
        wait: Option<u64>,
    },
    /// How many runs are in each status.
    Status,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account (its address counts as verified). On a terminal the
    /// password is asked twice, without echo; from a pipe, one line is read.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Make the account an admin.
        #[arg(long)]
        admin: bool,
    },
    /// Make an account an admin or a plain user.
    SetRole {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: RoleArg,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    User,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::platform::ai::install_crypto_provider();
    if let Err(error) = load_dotenv(std::path::Path::new(".env")) {
        eprintln!("error: {error}");
        return ExitCode::from(2);
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprint!("{error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init_logging(config.log_format, &config.log_filter);

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), config)) {
        Ok(()) => ExitCode::SUCCESS,
        // Printed once, here (not also logged: both go to stderr).
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Reads `.env` (variables already set in the environment win). A missing
/// file is normal; a malformed one stops start-up with its line number and
/// nothing of it applied, rather than half the file.
fn load_dotenv(path: &std::path::Path) -> Result<(), String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
    };
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        if let Err(error) = item {
            let line = match &error {
                dotenvy::Error::LineParse(bad, _) => {
                    let first = bad.lines().next().unwrap_or_default();
                    text.lines().position(|l| l == first).map_or(String::new(), |n| format!(" line {}", n + 1))
                }
                _ => String::new(),
            };
            return Err(format!("{}{line}: {error}", path.display()));
        }
    }
    dotenvy::from_path(path).map_err(|error| format!("{}: {error}", path.display()))
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(config).await,
        Command::Worker => {
            let state = app::services(config, app::Parts::standard()).await?;
            tracing::info!(backend = state.db.backend_name(), workers = state.config.workflow_workers, "flint worker is running");
            app::work(state, app::shutdown_signal()).await
        }
        Command::Migrate => {
            let db = Db::connect(&config).await?;
            db.migrate().await?;
            db.close().await;
            tracing::info!(backend = db.backend_name(), "migrations applied");
            Ok(())
        }
        Command::CheckConfig => {
            let width = VARIABLES.iter().map(|v| v.name.len()).max().unwrap_or(0);
            let mut out = String::new();
            for (name, value) in config.describe() {
                out.push_str(&format!("{name:width$}  {value}\n"));
            }
            print_stdout(&out);
            Ok(())
        }
        Command::User { command } => user(command, config).await,
        Command::Workflow { command } => workflow(command, config).await,
        Command::Reindex => {
            let state = app::services(config, app::Parts::standard()).await?;
            let result = crate::features::search::service::rebuild(&DbCtx(state.clone())).await.map_err(anyhow::Error::from);
            state.db.close().await;
            print_stdout(&format!("indexed {} public posts\n", result?));
            Ok(())
        }
        Command::Seed { posts } => {
            let state = app::services(config, app::Parts::standard()).await?;
            let started = std::time::Instant::now();
            let result = crate::features::publishing::seed::seed(&DbCtx(state.clone()), posts).await.map_err(anyhow::Error::from);
            state.db.close().await;
            let made = result?;
            print_stdout(&format!("seeded {made} published posts in {:.1} s\n", started.elapsed().as_secs_f64()));
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listen = config.listen;
    let app = app::build(config).await?;
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen} (FLINT_LISTEN)"))?;
    tracing::info!(address = %listen, base_url = %app.state.config.base_url, backend = app.state.db.backend_name(), "flint is serving");
    // Shown once, here, to whoever starts the server: the way to the first
    // admin that a stranger on the network cannot take.
    if let Some(link) = service::issue_setup_link(&DbCtx(app.state.clone())).await.map_err(anyhow::Error::from)? {
        tracing::warn!(
            setup_link = %link,
            "no admin yet: open the setup link (valid for 1 hour; a new one is made at each start until an admin exists) to create one, or run `flint user create --admin`"
        );
    }
    app::serve(app, listener, app::shutdown_signal()).await
}

async fn user(command: UserCommand, config: Config) -> anyhow::Result<()> {
    let state = app::services(config, app::Parts::standard()).await?;
    let ctx = DbCtx(state.clone());
    let result = match command {
        UserCommand::Create { email, name, admin } => {
            let password = read_password()?;
            let input = SignUpInput { name, email, password, invite: None, callback_url: None };
            if let Err(report) = input.validate() {
                anyhow::bail!("invalid account: {report}");
            }
            let user = service::create_user(&ctx, &input, admin.then_some(Role::Admin)).await.map_err(anyhow::Error::from)?;
            print_stdout(&format!("created {} ({}) as {}\n", user.email, user.id, user.role.as_str()));
            Ok(())
        }
        UserCommand::SetRole { email, role } => {
            let role = match role {
                RoleArg::Admin => Role::Admin,
                RoleArg::User => Role::User,
            };
            let user = service::set_role_by_email(&ctx, &email, role).await.map_err(anyhow::Error::from)?;
            print_stdout(&format!("{} is now {}\n", user.email, user.role.as_str()));
            Ok(())
        }
    };
    state.db.close().await;
    result
}

async fn workflow(command: WorkflowCommand, config: Config) -> anyhow::Result<()> {
    let state = app::services(config, app::Parts::standard()).await?;
    let engine = &state.workflows;
    let result = async {
        match command {
            WorkflowCommand::Selftest { runs, steps, pause_ms, wait } => {
                let params = SelfTestParams { steps, pause_ms };
                let mut ids = Vec::new();
                for _ in 0..runs {
                    ids.push(engine.create::<SelfTest>(&params, CreateOptions::default()).await?.id);
                }
                print_stdout(&format!("{}\n", ids.join("\n")));
                if let Some(seconds) = wait {
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
                    loop {
                        let mut open = 0;
                        for id in &ids {
                            let run = engine.get(id).await?.context("a self-test run vanished")?;
                            anyhow::ensure!(run.status != "failed", "self-test run {id} failed: {}", run.error.unwrap_or_default());
                            open += usize::from(run.status != "completed");
                        }
                        if open == 0 {
                            print_stdout(&format!("all {runs} self-test runs completed\n"));
                            break;
                        }
                        anyhow::ensure!(
                            std::time::Instant::now() < deadline,
                            "{open} of {runs} self-test runs still open; are workers running?"
                        );
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    }
                }
                Ok(())
            }
            WorkflowCommand::Status => {
                let mut counts: Vec<_> = engine.count_by_status().await?.into_iter().collect();
                counts.sort();
                let lines: String = counts.iter().map(|(status, n)| format!("{status:10} {n}\n")).collect();
                print_stdout(if lines.is_empty() { "no workflow runs\n" } else { &lines });
                Ok(())
            }
        }
    }
    .await;
    state.db.close().await;
    result
}

/// The new account's password: prompted twice without echo on a terminal,
/// else one line of standard input.
fn read_password() -> anyhow::Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").context("reading the password from the terminal")?;
        anyhow::ensure!(!first.is_empty(), "the password is empty");
        let again = rpassword::prompt_password("Password again: ").context("reading the password from the terminal")?;
        anyhow::ensure!(first == again, "the two passwords differ; nothing was created");
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    anyhow::ensure!(!password.is_empty(), "no password on standard input (pipe it in, e.g. `echo \"$PW\" | flint user create ...`)");
    Ok(password)
}

/// Command output for people (not logs) goes to stdout.
fn print_stdout(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}
