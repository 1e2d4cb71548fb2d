#!/bin/busybox sh
# The guest's /init (vm-run appends the hm_setup / hm_run lines and the poweroff).
/bin/busybox --install -s /bin
export PATH=/bin GTEST_COLOR=no
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/hugepages && mount -t hugetlbfs none /dev/hugepages
ulimit -l unlimited

# hm_setup NICS [kernel]: loads the vfio modules and binds every e1000 (8086:100e) to vfio-pci;
# with "kernel", loads the kernel's e1000 driver instead and leaves the NICs to it.
hm_setup() {
  for m in irqbypass vfio vfio_virqfd vfio_iommu_type1 vfio-pci-core vfio-pci; do
    insmod /mods/$m.ko || echo "@@HM-VM WARN insmod $m failed"
  done
  bound=
  if [ "${2:-}" = kernel ]; then
    insmod /mods/e1000.ko || echo "@@HM-VM WARN insmod e1000 failed"
    for d in /sys/bus/pci/devices/*; do
      [ "$(cat $d/vendor)" = 0x8086 ] && [ "$(cat $d/device)" = 0x100e ] || continue
      bound="$bound ${d##*/}($(basename "$(readlink $d/driver)" 2>/dev/null))"
    done
  fi
  for d in /sys/bus/pci/devices/*; do
    [ "${2:-}" = kernel ] && break
    [ "$(cat $d/vendor)" = 0x8086 ] && [ "$(cat $d/device)" = 0x100e ] || continue
    bdf=${d##*/}
    echo vfio-pci >$d/driver_override
    echo $bdf >/sys/bus/pci/drivers_probe
    g=$(readlink $d/iommu_group); g=${g##*/}
    bound="$bound $bdf(group ${g:-none})"
  done
  echo
  nodes=$(ls -d /sys/devices/system/node/node* 2>/dev/null | wc -l)
  echo "@@HM-VM BOOTED kernel=$(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo) nodes=$nodes" \
       "hugepages1g=$(cat /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages 2>/dev/null || echo 0)" \
       "vfio-nics:${bound:- none} /dev/vfio: $(ls /dev/vfio 2>/dev/null | xargs)"
}

# hm_run PROGRAM ARGS...: runs one program between BEGIN / END markers.
hm_run() {
  name=$1
  echo "@@HM-BEGIN $name"
  "$@"
  rc=$?
  echo "@@HM-END $name rc=$rc"
}
