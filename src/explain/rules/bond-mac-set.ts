// A bond MAC set explicitly (addr_assign_type 3) to none of its slaves' addresses with no event showing who (a snapshot): the likely setters and how to catch one.
import type { Fix } from '../types.js';
import { finding, type TraceRule } from '../rule.js';

function findSetterFix(bond: string): Fix {
  return {
    summary:
      `find out who sets ${bond}'s MAC, then remove that setting (or make it unique per host) so the bond takes its first slave's MAC: ` +
      `check the candidates below, or record the bond being created and let explain name the process: ` +
      `\`ifblame capture --record ${bond}.trace -- systemctl restart networking\` (or around ifdown/ifup ${bond}), then \`ifblame explain ${bond}.trace\`; ` +
      `for a MAC set at boot, use the boot recorder's trace of the next boot`,
    commands: [
      `udevadm test-builtin net_setup_link /sys/class/net/${bond} 2>&1 | grep -i -E 'MACAddressPolicy|MAC address'`,
      `grep -rn -i -E 'MACAddress=|hwaddress|cloned-mac' /etc/systemd/network/ /etc/network/interfaces* /etc/NetworkManager/system-connections/ 2>/dev/null`,
      `ifblame capture --record ${bond}.trace -- systemctl restart networking`,
      `ifblame explain ${bond}.trace`,
    ],
    reference: 'bond_enslave() copies the first slave\'s MAC only while the bond\'s addr_assign_type is RANDOM',
  };
}

export const bondMacSet: TraceRule = {
  scope: 'trace',
  id: 'bond-mac-set',
  severity: 'warning',
  about: "a bond whose MAC was set explicitly (addr_assign_type 3) and belongs to none of its slaves, set before the trace could see who did it",
  subject: (f) => f.ifaces[0] ?? '',
  find(facts, claims) {
    const out = [];
    for (const s of facts.table.all()) {
      if (s.deleted || s.aat !== 3 || !s.addr || facts.kindOf(s.name).kind !== 'bond' || claims.claimed(`bond:${s.name}`)) continue;
      const f = facts.bonds.foreign.get(s.name);
      if (!f || f.mac !== s.addr || facts.lastMacRef.get(s.name)?.change.after === s.addr) continue;
      claims.claim(`bond:${s.name}`);
      claims.claim(`bond-mac:${s.name} ${s.addr}`);
      const slaves = facts.table.portsOf(s.name);
      const own = slaves.map((p) => `${p.name} ${p.permAddr ?? facts.ownMac.get(p.name) ?? '?'}`);
      out.push(
        finding(facts, {
          id: 'bond-mac-set',
          severity: 'warning',
          title: `${s.name}: MAC ${s.addr} set explicitly (addr_assign_type 3), belongs to none of its slaves (${f.slaves.join(', ')})`,
          detail:
            `${s.name} has ${s.addr} with addr_assign_type 3 (SET) while its slaves' own addresses are ${f.owned.join(', ')}. A bond takes its first slave's MAC ` +
            `only while its own address is RANDOM, so something set this one: systemd-udevd with MACAddressPolicy=persistent (99-default.link, when no ` +
            `98-net-bonding.link keeps it off bonds) derives it from the bond's name and /etc/machine-id; systemd-networkd sets MACAddress= from the bond's .netdev; ` +
            `NetworkManager sets the connection's cloned-mac-address; ifupdown sets hwaddress from /etc/network/interfaces; or a script ran ip link set dev ${s.name} address. ` +
            `Hosts configured from one template or cloned from one image get the same bond MAC.`,
          ifaces: [s.name, ...f.slaves],
          evidence: [facts.evidence.fact(`${s.name} ${s.addr} addr_assign_type 3 (SET); slaves' own addresses: ${own.join(', ')}`)],
          fix: findSetterFix(s.name),
        }),
      );
    }
    return out;
  },
};
