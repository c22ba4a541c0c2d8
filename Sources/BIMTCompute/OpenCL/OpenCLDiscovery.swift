internal import COpenCL
import Foundation

/// One OpenCL device as `bimt devices` lists it.
public struct OpenCLDeviceDescription: Sendable, Equatable {
    /// The platform's index in clGetPlatformIDs.
    public let platformIndex: Int
    /// The device's index on its platform.
    public let deviceIndex: Int
    /// CL_PLATFORM_NAME.
    public let platformName: String
    /// CL_PLATFORM_VERSION.
    public let platformVersion: String
    /// CL_DEVICE_NAME.
    public let name: String
    /// CL_DEVICE_VENDOR.
    public let vendor: String
    /// "GPU", "CPU", "accelerator" or "other".
    public let type: String
    /// CL_DEVICE_VERSION.
    public let deviceVersion: String
    /// CL_DRIVER_VERSION.
    public let driverVersion: String
    /// CL_DEVICE_OPENCL_C_VERSION.
    public let openCLCVersion: String
    /// CL_DEVICE_MAX_COMPUTE_UNITS.
    public let computeUnits: Int
    /// CL_DEVICE_MAX_CLOCK_FREQUENCY.
    public let clockMHz: Int
    /// CL_DEVICE_GLOBAL_MEM_SIZE.
    public let globalMemoryBytes: Int
    /// CL_DEVICE_MAX_MEM_ALLOC_SIZE: the largest single buffer.
    public let maxAllocationBytes: Int
    /// CL_DEVICE_LOCAL_MEM_SIZE.
    public let localMemoryBytes: Int
    /// CL_DEVICE_MAX_WORK_GROUP_SIZE.
    public let maxWorkGroupSize: Int
    /// CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT.
    public let preferredFloatVectorWidth: Int

    /// The `--device` value that selects this device: `opencl:P:D`.
    public var specifier: String { "opencl:\(platformIndex):\(deviceIndex)" }
    /// True for GPUs and accelerators: the devices `auto` prefers over the CPU path.
    public var isAccelerator: Bool { type == "GPU" || type == "accelerator" }
}

/// Platform and device discovery.
public enum OpenCLDiscovery {
    /// Every device of every platform. An ICD loader with no platforms (or platforms
    /// without devices) yields an empty list, not an error.
    public static func devices() throws -> [OpenCLDeviceDescription] {
        try handles().map(\.description)
    }

    struct Handle {
        let platform: cl_platform_id
        let device: cl_device_id
        let description: OpenCLDeviceDescription
    }

    /// Nil when the OpenCL library is loaded, else why it is not (e.g. no libOpenCL.so.1).
    public static var unavailableReason: String? {
        bimt_opencl_available() != 0 ? nil : String(cString: bimt_opencl_error())
    }

    static func handles() throws -> [Handle] {
        guard bimt_opencl_available() != 0 else { return [] }
        var platformCount: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &platformCount)
        if status == -1001 || platformCount == 0 { return [] } // CL_PLATFORM_NOT_FOUND_KHR: no ICD
        try OpenCLStatus.check(status, "clGetPlatformIDs")
        var platforms = [cl_platform_id?](repeating: nil, count: Int(platformCount))
        try OpenCLStatus.check(clGetPlatformIDs(platformCount, &platforms, nil), "clGetPlatformIDs")

        var result: [Handle] = []
        for (p, platform) in platforms.enumerated() {
            guard let platform else { continue }
            var deviceCount: cl_uint = 0
            let deviceStatus = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &deviceCount)
            if deviceStatus == CL_DEVICE_NOT_FOUND || deviceCount == 0 { continue }
            try OpenCLStatus.check(deviceStatus, "clGetDeviceIDs")
            var devices = [cl_device_id?](repeating: nil, count: Int(deviceCount))
            try OpenCLStatus.check(
                clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), deviceCount, &devices, nil),
                "clGetDeviceIDs")
            let platformName = try platformString(platform, cl_platform_info(CL_PLATFORM_NAME))
            let platformVersion = try platformString(platform, cl_platform_info(CL_PLATFORM_VERSION))
            for (d, device) in devices.enumerated() {
                guard let device else { continue }
                let typeBits: cl_device_type = try deviceScalar(device, CL_DEVICE_TYPE)
                let description = OpenCLDeviceDescription(
                    platformIndex: p, deviceIndex: d,
                    platformName: platformName, platformVersion: platformVersion,
                    name: try deviceString(device, CL_DEVICE_NAME),
                    vendor: try deviceString(device, CL_DEVICE_VENDOR),
                    type: typeName(typeBits),
                    deviceVersion: try deviceString(device, CL_DEVICE_VERSION),
                    driverVersion: try deviceString(device, CL_DRIVER_VERSION),
                    openCLCVersion: try deviceString(device, CL_DEVICE_OPENCL_C_VERSION),
                    computeUnits: Int(try deviceScalar(device, CL_DEVICE_MAX_COMPUTE_UNITS) as cl_uint),
                    clockMHz: Int(try deviceScalar(device, CL_DEVICE_MAX_CLOCK_FREQUENCY) as cl_uint),
                    globalMemoryBytes: Int(try deviceScalar(device, CL_DEVICE_GLOBAL_MEM_SIZE) as cl_ulong),
                    maxAllocationBytes: Int(try deviceScalar(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE) as cl_ulong),
                    localMemoryBytes: Int(try deviceScalar(device, CL_DEVICE_LOCAL_MEM_SIZE) as cl_ulong),
                    maxWorkGroupSize: try deviceScalar(device, CL_DEVICE_MAX_WORK_GROUP_SIZE) as Int,
                    preferredFloatVectorWidth: Int(
                        try deviceScalar(device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT) as cl_uint))
                result.append(Handle(platform: platform, device: device, description: description))
            }
        }
        return result
    }

    static func typeName(_ bits: cl_device_type) -> String {
        if bits & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 { return "GPU" }
        if bits & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 { return "accelerator" }
        if bits & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 { return "CPU" }
        return "other"
    }

    static func platformString(_ platform: cl_platform_id, _ parameter: cl_platform_info) throws -> String {
        var size = 0
        try OpenCLStatus.check(clGetPlatformInfo(platform, parameter, 0, nil, &size), "clGetPlatformInfo")
        var bytes = [CChar](repeating: 0, count: max(size, 1))
        try OpenCLStatus.check(clGetPlatformInfo(platform, parameter, size, &bytes, nil), "clGetPlatformInfo")
        return trimmed(bytes)
    }

    static func deviceString(_ device: cl_device_id, _ parameter: Int32) throws -> String {
        var size = 0
        let info = cl_device_info(parameter)
        try OpenCLStatus.check(clGetDeviceInfo(device, info, 0, nil, &size), "clGetDeviceInfo")
        var bytes = [CChar](repeating: 0, count: max(size, 1))
        try OpenCLStatus.check(clGetDeviceInfo(device, info, size, &bytes, nil), "clGetDeviceInfo")
        return trimmed(bytes)
    }

    static func deviceScalar<T: FixedWidthInteger>(_ device: cl_device_id, _ parameter: Int32) throws -> T {
        var value: T = 0
        try OpenCLStatus.check(
            clGetDeviceInfo(device, cl_device_info(parameter), MemoryLayout<T>.size, &value, nil), "clGetDeviceInfo")
        return value
    }

    private static func trimmed(_ bytes: [CChar]) -> String {
        let text = bytes.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return text.trimmingCharacters(in: .whitespaces)
    }
}
