/**
 * Whether a process with this id exists on this machine. Signal 0 delivers nothing and only checks;
 * EPERM means the process exists but belongs to another user.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
