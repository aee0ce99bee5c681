/**
 * The database holds sealed AWS secrets and everyone's captures: its file and SQLite's -wal and
 * -shm companions are readable by the owner only (0600). SQLite creates -wal/-shm with the main
 * file's mode, so the main file is created 0600 before SQLite opens it; files made by an older
 * version (0644) are tightened too. No-op on Windows, where modes do not apply.
 */
const DATABASE_FILE_MODE = 0o600;

/** Creates `path` empty with mode 0600 if it does not exist; throws what Deno.open throws. */
export async function createPrivateFile(path: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  try {
    const file = await Deno.open(path, { createNew: true, write: true, mode: DATABASE_FILE_MODE });
    file.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
}

/** Sets 0600 on the database file and whichever of its -wal and -shm files exist. */
export async function tightenDatabaseFiles(path: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    await Deno.chmod(file, DATABASE_FILE_MODE).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
}
