// The pod sandbox's pause process for level L5. containerd's CRI runs one per pod to hold its
// namespaces; the usual image (registry.k8s.io/pause) is on an image registry these machines do not
// reach, so run.sh builds this one statically with gcc and imports it as reel.local/pause:l5.
// Like upstream's pause: PID 1 of the pod, reaps zombies, exits on SIGINT/SIGTERM.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_term(int sig) { _exit(0); }

static void on_child(int sig) {
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction term = {.sa_handler = on_term};
  struct sigaction child = {.sa_handler = on_child, .sa_flags = SA_NOCLDSTOP};
  if (sigaction(SIGINT, &term, NULL) < 0 || sigaction(SIGTERM, &term, NULL) < 0 ||
      sigaction(SIGCHLD, &child, NULL) < 0)
    return 1;
  for (;;) pause();
}
