// Reading objects back in the operator's integration tests, through kubectl. Each test names the
// fields it reads in its own Job and VideoJob types.

export type Kubectl = (args: string[], input?: string) => Promise<string>;

/** `kubectl … -o json` and the Jobs and VideoJobs of `namespace`. */
export function kubeReader<Job, VideoJob>(kubectl: Kubectl, namespace: string) {
  const getJson = async <T>(args: string[]) => JSON.parse(await kubectl([...args, "-o", "json"])) as T;
  return {
    getJson,
    /** The Jobs the operator made for a VideoJob. */
    jobsOf: async (vj: string) =>
      (await getJson<{ items: Job[] }>(["-n", namespace, "get", "jobs", "-l", `reel.dev/videojob=${vj}`])).items,
    vjOf: (name: string) => getJson<VideoJob>(["-n", namespace, "get", "videojob", name]),
  };
}
