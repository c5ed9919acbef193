// Node's os for library code that describes the platform (user agents, line ends):
// fixed, harmless answers, nothing about the host.
module.exports = {
  EOL: '\n',
  platform: () => 'linux',
  type: () => 'Linux',
  release: () => '',
  arch: () => 'x64',
  hostname: () => 'localhost',
  homedir: () => '/',
  tmpdir: () => '/tmp',
  cpus: () => [],
  totalmem: () => 0,
  freemem: () => 0,
  uptime: () => 0,
  loadavg: () => [0, 0, 0],
  networkInterfaces: () => ({}),
  userInfo: () => ({ username: 'function', uid: -1, gid: -1, shell: null, homedir: '/' }),
};
